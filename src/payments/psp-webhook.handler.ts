import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  WebhookHandlerRegistry,
  type HandleContext,
  type HandlerResult,
  type InboundEvent,
  type WebhookEventHandler,
} from '../webhooks/inbound/webhook-handler.js';
import { afterCommit } from '../common/db/after-commit.js';
import type { SqlPart } from '../common/db/sql-part.js';
import { PaymentsRepository, type LockedPayment } from './payments.repository.js';
import { paymentRefsOf } from './payment-refs.js';
import { PollSchedulerTask } from './polling/poll-scheduler.task.js';
import { handlerResultOf, PspResultsService, type ApplyOutcome, type PspResult } from './psp-results.service.js';
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
    private readonly payments: PaymentsRepository,
    // In the processes that run workers (where this handler applies events); absent elsewhere.
    @Optional() private readonly pollScheduler?: PollSchedulerTask,
  ) {}

  onModuleInit(): void {
    this.registry.register('psp', this);
    // The payments the batch's events name are locked with its inbox rows (decision 0033).
    this.registry.registerCoLock(this.payments.inboxCoLock());
  }

  async handle(manager: EntityManager, events: InboundEvent[], context: HandleContext = {}): Promise<HandlerResult[]> {
    const parsed = events.map((event) => this.toResult(event));
    const results = parsed.flatMap((p) => ('result' in p ? [p.result] : []));
    const resultsOf = (applied: ApplyOutcome[], fetching: Set<string>) => {
      let next = 0;
      return parsed.map((p): HandlerResult => {
        if ('thin' in p) {
          return fetching.has(p.thin)
            ? { outcome: 'applied', note: 'thin event: the state is fetched from the PSP' }
            : { outcome: 'ignored', reason: 'thin event for no thin_webhook payment still processing' };
        }
        if (!('result' in p)) return p;
        return handlerResultOf(applied[next++]);
      });
    };
    const thin = parsed.some((p) => 'thin' in p);
    const { markWith } = context;
    const applied = await this.results.applyPspResults(manager, results, {
      locked: context.coLocked?.get(this.payments.inboxCoLock().name) as LockedPayment[] | undefined,
      // Without thin events, the results' last statement is the batch's last: it writes the inbox mark.
      ...(markWith && !thin && { last: (outcomes: ApplyOutcome[]) => markWith(resultsOf(outcomes, new Set())) }),
    });
    // With thin events, their timeline statement is the batch's last: it writes the mark.
    const fetching = await this.fetchThin(
      manager,
      events,
      parsed,
      markWith && thin ? (due) => markWith(resultsOf(applied, due)) : undefined,
    );
    return resultsOf(applied, fetching);
  }

  async onDead(manager: EntityManager, event: InboundEvent, lastError: string): Promise<void> {
    await this.results.recordDeadWebhook(manager, paymentRefsOf('psp', event.payload), {
      eventId: event.eventId,
      eventType: event.type,
      inboxId: event.inboxId,
      lastError,
    });
  }

  /**
   * Thin events (ids only, as Stripe's thin events) carry no state to apply: their
   * payments get a poll due now, which fetches the state from the PSP and applies it
   * (resolvedVia webhook_fetch). Answers the PSP payment ids that will be fetched.
   */
  private async fetchThin(
    manager: EntityManager,
    events: InboundEvent[],
    parsed: ReturnType<PspWebhookHandler['toResult']>[],
    /** CTEs for the timeline's statement, given the PSP payment ids that will be fetched. */
    last?: (fetching: Set<string>) => SqlPart,
  ): Promise<Set<string>> {
    const thin = parsed.flatMap((p, i) => ('thin' in p ? [{ pspPaymentId: p.thin, event: events[i] }] : []));
    if (thin.length === 0) return new Set();
    const due = new Map(
      (
        await this.payments.fetchNow(
          manager,
          thin.map((t) => t.pspPaymentId),
        )
      ).map((r) => [r.pspPaymentId, r.id]),
    );
    const fetched = new Set<string>();
    const entries = [];
    for (const t of thin) {
      const paymentId = due.get(t.pspPaymentId);
      if (!paymentId) continue;
      fetched.add(t.pspPaymentId);
      entries.push({
        paymentId,
        type: 'webhook_received' as const,
        at: t.event.receivedAt,
        detail: {
          eventId: t.event.eventId,
          eventType: t.event.type,
          format: 'thin',
          next: 'fetch the state from the PSP',
        },
      });
    }
    await this.payments.writeTimeline(manager, entries, undefined, last ? [last(fetched)] : []);
    // Their polls are due now: claimed once this commits, not after the scheduler's sleep.
    if (fetched.size > 0) await afterCommit(manager, () => this.pollScheduler?.wake());
    return fetched;
  }

  private toResult(
    event: InboundEvent,
  ): { result: PspResult } | { thin: string } | { outcome: 'ignored'; reason: string } {
    const pspStatus = STATUS_BY_TYPE[event.type];
    if (!pspStatus) return { outcome: 'ignored', reason: `event type ${event.type} is not handled` };
    const data = (event.payload.data ?? {}) as Record<string, unknown>;
    const { paymentId, pspPaymentId } = paymentRefsOf('psp', event.payload);
    if (pspPaymentId !== undefined && data.amount === undefined && data.status === undefined) {
      return { thin: pspPaymentId };
    }
    if (pspPaymentId === undefined || typeof data.amount !== 'number' || typeof data.currency !== 'string') {
      return { outcome: 'ignored', reason: 'data.payment_id, data.amount and data.currency are required' };
    }
    return {
      result: {
        paymentId,
        pspPaymentId,
        pspStatus,
        amount: data.amount,
        currency: data.currency,
        via: event.receivedVia === 'reconciliation' ? 'reconciliation' : 'webhook',
        arrivedAt: event.receivedAt,
        ...(event.traceparent && { traceparent: event.traceparent }),
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
