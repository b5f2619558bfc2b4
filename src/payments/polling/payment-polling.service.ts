import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import type { AllConfig } from '../../config/env.js';
import { JobName, QueueName } from '../../queue/queues.js';
import type { PaymentStrategy, ResolvedVia } from '../payment-status.js';
import type { Payment } from '../payment.entity.js';
import { PaymentsMetrics } from '../payments-metrics.js';
import { PaymentAttention } from '../payment-attention.js';
import { PaymentsRepository } from '../payments.repository.js';
import { PspResultsService } from '../psp-results.service.js';
import { PspClient, type PspPaymentView } from '../psp/psp.client.js';
import { endWithError, startChildSpan, traceparentOf, withSpan } from '../../telemetry/trace-context.js';

export interface PollJob {
  paymentId: string;
  /** The payment's poll number when the poll was claimed: a job for an older poll number is stale and skipped. */
  poll: number;
}

const VIA: Record<PaymentStrategy, ResolvedVia> = {
  webhook: 'fallback_poll',
  short_polling: 'short_poll',
  long_polling: 'long_poll',
  thin_webhook: 'webhook_fetch',
};
/** Fallback polls back off while the PSP still says processing: 1 s, 2 s, 4 s … at most this. */
const FALLBACK_BACKOFF_MAX_MS = 60_000;

/**
 * Asks the PSP for the state of payments that have no result yet: the fallback poll
 * of webhook payments whose webhook is overdue, and the short and long polling
 * strategies. Every poll is due in the payments table (`next_poll_at`); a scheduler
 * claims due payments with FOR UPDATE SKIP LOCKED and queues one job each, so any
 * number of workers share the work and none polls a payment twice in one round. A
 * final answer goes through PspResultsService.applyPspResult, like a webhook.
 */
@Injectable()
export class PaymentPollingService {
  private readonly logger = new Logger('Polling');
  private readonly shortIntervalMs: number;
  private readonly longWaitS: number;
  private readonly giveUpMs: number;
  private readonly deadlineMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QueueName.PaymentPoll) private readonly queue: Queue<PollJob>,
    private readonly payments: PaymentsRepository,
    private readonly results: PspResultsService,
    private readonly psp: PspClient,
    config: ConfigService<AllConfig, true>,
    private readonly metrics: PaymentsMetrics,
    private readonly attention: PaymentAttention,
  ) {
    this.shortIntervalMs = config.get('SHORT_POLL_INTERVAL_MS', { infer: true });
    this.longWaitS = config.get('LONG_POLL_WAIT_S', { infer: true });
    this.giveUpMs = config.get('POLL_GIVE_UP_MS', { infer: true });
    this.deadlineMs = config.get('WEBHOOK_DEADLINE_MS', { infer: true });
  }

  /**
   * Claims payments whose poll is due and queues a job for each. The claim moves
   * `next_poll_at` a lease ahead: if the job is lost (Redis flushed, worker killed),
   * the payment becomes due again when the lease ends.
   */
  async claimDue(limit = 200): Promise<number> {
    const leaseS = this.longWaitS + 10; // longer than any poll can take
    const claimed = await this.payments.claimDuePolls(limit, leaseS);
    if (claimed.length === 0) return 0;
    const claimedAt = Date.now();
    await this.queue.addBulk(
      claimed.map((r) => ({
        name: JobName.PollPayment,
        data: { paymentId: r.id, poll: r.poll_count },
        // A new id per claim: when a lease ran out because the worker holding the job died,
        // the re-claim must not wait for Bull's stalled-job check on the old id.
        opts: {
          jobId: `poll:${r.id}:${r.poll_count}:${claimedAt}`,
          attempts: 1,
          removeOnComplete: 1000,
          removeOnFail: 1000,
        },
      })),
    );
    return claimed.length;
  }

  /** One poll: ask the PSP, apply a final answer, or decide when to ask again (or give up). */
  async poll(job: PollJob): Promise<'final' | 'processing' | 'skipped' | 'error' | 'gave-up'> {
    const payment = await this.payments.findById(job.paymentId);
    if (!payment || payment.status !== 'processing' || !payment.pspPaymentId || payment.pollCount !== job.poll) {
      return 'skipped';
    }
    // A thin_webhook payment is fetched when its thin event arrives, or by the fallback at its deadline.
    const via =
      payment.strategy === 'thin_webhook' && Date.now() - payment.createdAt.getTime() >= this.deadlineMs
        ? 'fallback_poll'
        : VIA[payment.strategy];
    const n = payment.pollCount + 1;
    const started = new Date();
    // With tracing on, the poll joins the payment's trace: a child of its creation, its
    // PSP call a child of the poll, and a final answer's order transition too.
    const span = startChildSpan('payment.poll', payment.traceContext, {
      'hookline.payment_id': payment.id,
      'hookline.poll.via': via,
      'hookline.poll.number': n,
    });
    try {
      const outcome = await withSpan(span, () => this.pollOnce(payment, via, n, started, traceparentOf(span)));
      span?.setAttribute('hookline.poll.outcome', outcome);
      span?.end();
      return outcome;
    } catch (err) {
      endWithError(span, err);
      throw err;
    }
  }

  private async pollOnce(
    payment: Payment,
    via: ResolvedVia,
    n: number,
    started: Date,
    traceparent: string | null,
  ): Promise<'final' | 'processing' | 'error' | 'gave-up'> {
    let view: PspPaymentView;
    try {
      view = await this.psp.getPayment(payment.pspPaymentId!, via === 'long_poll' ? this.longWaitS : undefined);
    } catch (err) {
      this.metrics.polls.inc({ via, result: 'error' });
      this.logger.warn({
        msg: `Payment ${payment.id}: ${via} #${n} failed: ${(err as Error).message}`,
        paymentId: payment.id,
        orderId: payment.orderId,
      });
      await this.scheduleNext(payment, n, via, Date.now() + this.backoffMs(n));
      return 'error';
    }
    const latencyMs = Date.now() - started.getTime();
    const evidence = { poll: n, latencyMs, pspSettledAt: view.settled_at ?? null };
    if (view.status === 'processing') {
      this.metrics.polls.inc({ via, result: 'processing' });
      await this.db.transaction(async (manager) => {
        await this.payments.writeTimeline(manager, [
          {
            paymentId: payment.id,
            type: 'poll_result',
            at: new Date(),
            detail: { ...evidence, via, pspStatus: 'processing', found: 'nothing new' },
          },
        ]);
      });
      const next =
        via === 'short_poll'
          ? Date.now() + this.shortIntervalMs
          : via === 'long_poll'
            ? Date.now()
            : Date.now() + this.backoffMs(n);
      return (await this.scheduleNext(payment, n, via, next)) ? 'processing' : 'gave-up';
    }
    this.metrics.polls.inc({ via, result: 'final' });
    await this.db.transaction(async (manager) => {
      await this.results.applyPspResult(manager, {
        paymentId: payment.id,
        pspPaymentId: view.id,
        pspStatus: view.status,
        amount: view.amount,
        currency: view.currency,
        via,
        arrivedAt: new Date(),
        evidence,
        traceparent,
      });
      await this.payments.finishPolling(manager, payment.id, n);
    });
    return 'final';
  }

  /** Returns false when polling gives up: the payment is then marked for attention. */
  private async scheduleNext(payment: Payment, n: number, via: ResolvedVia, at: number): Promise<boolean> {
    const ageMs = Date.now() - payment.createdAt.getTime();
    if (ageMs > this.giveUpMs) {
      const reason = `no final result from the PSP after ${n} poll(s) in ${Math.round(ageMs / 1000)} s (${via}); polling stopped`;
      await this.db.transaction(async (manager) => {
        await this.payments.stopPolling(payment.id, n, reason, manager);
        await this.attention.publish(manager, {
          paymentId: payment.id,
          orderId: payment.orderId,
          reason: 'polling_gave_up',
          detail: reason,
        });
      });
      this.logger.warn({
        msg: `Payment ${payment.id} (order ${payment.orderId}) needs attention: ${reason}`,
        paymentId: payment.id,
        orderId: payment.orderId,
      });
      return false;
    }
    await this.payments.schedulePoll(payment.id, n, new Date(at));
    return true;
  }

  private backoffMs(n: number): number {
    return Math.min(1000 * 2 ** (n - 1), FALLBACK_BACKOFF_MAX_MS);
  }
}
