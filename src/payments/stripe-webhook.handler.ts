import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  WebhookHandlerRegistry,
  type HandleContext,
  type HandlerResult,
  type InboundEvent,
  type WebhookEventHandler,
} from '../webhooks/inbound/webhook-handler.js';
import { PaymentsRepository, type LockedPayment } from './payments.repository.js';
import { handlerResultOf, PspResultsService, type ApplyOutcome, type PspResult } from './psp-results.service.js';
import { paymentRefsOf } from './payment-refs.js';
import { isHandledStripeEvent, STRIPE_STATUS_MAP, stripeFailureReason } from './psp/stripe-status.js';

/** The PaymentIntent fields the handler reads from `data.object`. */
interface IntentObject {
  id?: unknown;
  object?: unknown;
  amount?: unknown;
  currency?: unknown;
  status?: string;
  metadata?: Record<string, unknown>;
  next_action?: { type?: unknown } | null;
  last_payment_error?: { code?: string; decline_code?: string; type: string } | null;
  cancellation_reason?: string | null;
}

/**
 * Turns Stripe's events (POST /webhooks/stripe, or pulled from GET /v1/events by
 * reconciliation) into PSP results, through the one mapping table (stripe-status.ts).
 * The same results service applies them as the mock's: a late or repeated event never
 * moves a final payment.
 */
@Injectable()
export class StripeWebhookHandler implements WebhookEventHandler, OnModuleInit {
  constructor(
    private readonly registry: WebhookHandlerRegistry,
    private readonly results: PspResultsService,
    private readonly payments: PaymentsRepository,
  ) {}

  onModuleInit(): void {
    this.registry.register('stripe', this);
    // The payments the batch's events name are locked with its inbox rows (decision 0033).
    this.registry.registerCoLock(this.payments.inboxCoLock());
  }

  async handle(manager: EntityManager, events: InboundEvent[], context: HandleContext = {}): Promise<HandlerResult[]> {
    const parsed = events.map((event) => this.toResult(event));
    const resultsOf = (applied: ApplyOutcome[]) => {
      let next = 0;
      return parsed.map((p): HandlerResult => {
        if (!('result' in p)) return p;
        return handlerResultOf(applied[next++]);
      });
    };
    const { markWith } = context;
    const applied = await this.results.applyPspResults(
      manager,
      parsed.flatMap((p) => ('result' in p ? [p.result] : [])),
      {
        locked: context.coLocked?.get(this.payments.inboxCoLock().name) as LockedPayment[] | undefined,
        ...(markWith && { last: (outcomes: ApplyOutcome[]) => markWith(resultsOf(outcomes)) }),
      },
    );
    return resultsOf(applied);
  }

  async onDead(manager: EntityManager, event: InboundEvent, lastError: string): Promise<void> {
    await this.results.recordDeadWebhook(manager, intentOf(event) ? paymentRefsOf('stripe', event.payload) : {}, {
      eventId: event.eventId,
      eventType: event.type,
      inboxId: event.inboxId,
      lastError,
    });
  }

  private toResult(event: InboundEvent): { result: PspResult } | { outcome: 'ignored'; reason: string } {
    if (!isHandledStripeEvent(event.type))
      return { outcome: 'ignored', reason: `event type ${event.type} is not handled` };
    const pi = intentOf(event);
    const refs = paymentRefsOf('stripe', event.payload);
    if (!pi || refs.pspPaymentId === undefined || typeof pi.amount !== 'number' || typeof pi.currency !== 'string') {
      return { outcome: 'ignored', reason: 'data.object must be a PaymentIntent with id, amount and currency' };
    }
    const created = typeof event.payload.created === 'number' ? new Date(event.payload.created * 1000) : null;
    return {
      result: {
        paymentId: refs.paymentId,
        pspPaymentId: refs.pspPaymentId,
        pspStatus: STRIPE_STATUS_MAP[event.type],
        amount: pi.amount,
        currency: pi.currency.toUpperCase(),
        via: event.receivedVia === 'reconciliation' ? 'reconciliation' : 'webhook',
        arrivedAt: event.receivedAt,
        ...(event.traceparent && { traceparent: event.traceparent }),
        evidence: {
          eventId: event.eventId,
          eventType: event.type,
          inboxId: event.inboxId,
          stripeStatus: pi.status,
          ...(pi.next_action?.type ? { nextAction: pi.next_action.type } : {}),
          ...(pi.status ? { failure: stripeFailureReason(pi as never) } : {}),
          pspCreatedAt: created?.toISOString(),
          pspSettledAt: created?.toISOString(),
          receivedAt: event.receivedAt.toISOString(),
          verifiedAt: event.verifiedAt.toISOString(),
          queuedAt: event.queuedAt?.toISOString() ?? null,
        },
      },
    };
  }
}

function intentOf(event: InboundEvent): IntentObject | null {
  const data = event.payload.data as { object?: IntentObject } | undefined;
  return data?.object && data.object.object === 'payment_intent' ? data.object : null;
}
