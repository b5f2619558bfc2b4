import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  WebhookHandlerRegistry,
  type HandlerResult,
  type InboundEvent,
  type WebhookEventHandler,
} from '../webhooks/inbound/webhook-handler.js';
import { PspResultsService, type PspResult } from './psp-results.service.js';
import type { PspPaymentStatus } from './psp/psp.client.js';

const STATUS_BY_TYPE: Record<string, PspPaymentStatus> = {
  'payment.processing': 'processing',
  'payment.completed': 'completed',
  'payment.failed': 'failed',
};

/** Turns the PSP's webhook events into PSP results for PspResultsService, a batch at a time. */
@Injectable()
export class PspWebhookHandler implements WebhookEventHandler, OnModuleInit {
  constructor(
    private readonly registry: WebhookHandlerRegistry,
    private readonly results: PspResultsService,
  ) {}

  onModuleInit(): void {
    this.registry.register('psp', this);
  }

  async handle(manager: EntityManager, events: InboundEvent[]): Promise<HandlerResult[]> {
    const parsed = events.map((event) => this.toResult(event));
    const results = parsed.flatMap((p) => ('result' in p ? [p.result] : []));
    const applied = await this.results.applyPspResults(manager, results);
    let next = 0;
    return parsed.map((p): HandlerResult => {
      if (!('result' in p)) return p;
      const outcome = applied[next++];
      return outcome.applied
        ? { outcome: 'applied', note: `payment ${outcome.status}` }
        : { outcome: 'ignored', reason: outcome.reason };
    });
  }

  async onDead(manager: EntityManager, event: InboundEvent, lastError: string): Promise<void> {
    const data = (event.payload.data ?? {}) as Record<string, unknown>;
    const metadata = (data.metadata ?? {}) as Record<string, unknown>;
    await this.results.recordDeadWebhook(
      manager,
      {
        paymentId: typeof metadata.paymentId === 'string' ? metadata.paymentId : undefined,
        pspPaymentId: typeof data.payment_id === 'string' ? data.payment_id : undefined,
      },
      { eventId: event.eventId, eventType: event.type, inboxId: event.inboxId, lastError },
    );
  }

  private toResult(event: InboundEvent): { result: PspResult } | { outcome: 'ignored'; reason: string } {
    const pspStatus = STATUS_BY_TYPE[event.type];
    if (!pspStatus) return { outcome: 'ignored', reason: `event type ${event.type} is not handled` };
    const data = (event.payload.data ?? {}) as Record<string, unknown>;
    const metadata = (data.metadata ?? {}) as Record<string, unknown>;
    if (typeof data.payment_id !== 'string' || typeof data.amount !== 'number' || typeof data.currency !== 'string') {
      return { outcome: 'ignored', reason: 'data.payment_id, data.amount and data.currency are required' };
    }
    return {
      result: {
        paymentId: typeof metadata.paymentId === 'string' ? metadata.paymentId : undefined,
        pspPaymentId: data.payment_id,
        pspStatus,
        amount: data.amount,
        currency: data.currency,
        via: event.receivedVia === 'reconciliation' ? 'reconciliation' : 'webhook',
        arrivedAt: event.receivedAt,
        evidence: {
          eventId: event.eventId,
          eventType: event.type,
          inboxId: event.inboxId,
          pspCreatedAt: event.payload.created_at,
          pspSettledAt: event.payload.created_at,
          receivedAt: event.receivedAt.toISOString(),
          verifiedAt: event.verifiedAt.toISOString(),
          queuedAt: event.queuedAt?.toISOString() ?? null,
        },
      },
    };
  }
}
