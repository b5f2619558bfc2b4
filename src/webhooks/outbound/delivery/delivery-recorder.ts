import { Injectable } from '@nestjs/common';
import { GroupCommit } from '../../../common/db/group-commit.js';
import { isDatabaseUnavailable } from '../../../common/errors/unavailable.js';
import { DeliveriesRepository, type SucceededAttemptRow } from '../deliveries.repository.js';
import { OutboundHooks, type AttemptContext } from '../outbound-hooks.js';
import type { HttpAnswer } from './delivery-http-client.js';
import { DeliveryNotices } from './delivery-notices.js';
import { DeliverySchedules } from './delivery-schedules.js';
import { EndpointHealth } from './endpoint-health.js';

/** A failed attempt to record; `note`: what a publisher's hook did to it (noted on the attempt's error). */
export interface FailureRecord {
  ctx: AttemptContext;
  startedAt: Date;
  answer: HttpAnswer;
  failure: string;
  note: string | null;
}

/** After a recorded attempt: the wait before the next one, or null when the delivery is final (and why). */
export interface FailureDecision {
  nextDelayMs: number | null;
  why?: string;
}

/**
 * Records attempts: successes and failures of concurrent deliveries are each written
 * together (group commits), and a failure's record decides what follows — the schedule's
 * next step, or the end of the delivery (its endpoint disabled, or the schedule done).
 */
@Injectable()
export class DeliveryRecorder {
  /**
   * Successes of concurrent deliveries share one statement and one commit. A batch
   * PostgreSQL refuses for another reason than being down is recorded again one by one,
   * so only the delivery at fault is sent again, not every delivery of its batch.
   */
  readonly successes = new GroupCommit<SucceededAttemptRow, void>((batch) => this.recordSuccesses(batch), 128, 2, {
    retryAlone: (err) => !isDatabaseUnavailable(err),
  });
  /**
   * Failures of concurrent deliveries share one transaction, as successes do, and a
   * refused batch is recorded again one by one: one transaction per failure cost about
   * five times the CPU (docs/decisions/0004-outbound-batched-records.md).
   */
  readonly failures = new GroupCommit<FailureRecord, FailureDecision>((batch) => this.recordFailures(batch), 128, 2, {
    retryAlone: (err) => !isDatabaseUnavailable(err),
  });

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly health: EndpointHealth,
    private readonly schedules: DeliverySchedules,
    private readonly notices: DeliveryNotices,
    private readonly hooks: OutboundHooks,
  ) {}

  /**
   * Writes the attempt and what follows from it, with its publisher's mirror of it
   * (`PublisherHooks.mirror`) in the same statement. A success joins the batch of
   * concurrent successes; a failure the batch of concurrent failures (`recordFailures`).
   */
  async record(
    ctx: AttemptContext,
    startedAt: Date,
    answer: HttpAnswer,
    failure: string | null,
    note: string | null,
  ): Promise<FailureDecision> {
    const { delivery, endpoint } = ctx;
    if (failure === null) {
      await this.successes.submit({
        delivery_id: delivery.id,
        endpoint_id: endpoint.id,
        number: ctx.attempt,
        started_at: startedAt.toISOString(),
        duration_ms: answer.durationMs,
        status_code: answer.statusCode!,
        excerpt: answer.excerpt,
        event_id: ctx.message.eventId,
        mirror: this.hooks.mirrorOf(ctx),
      });
      await this.notices.recovered(ctx, startedAt);
      return { nextDelayMs: null };
    }
    return this.failures.submit({ ctx, startedAt, answer, failure, note });
  }

  private async recordSuccesses(batch: SucceededAttemptRow[]): Promise<void[]> {
    await this.deliveries.recordSuccesses(batch, this.hooks.mirrors());
    return batch.map(() => undefined);
  }

  /**
   * The failed attempts of concurrent deliveries, in one transaction of four round trips
   * whatever their number: the attempts inserted, the streaks of their endpoints (only a
   * streak's first failure writes the endpoint's row), then each delivery's next attempt
   * or end in one statement, with the publishers' mirrors of them. An endpoint that answered 410, or whose streak has lasted
   * WEBHOOK_DISABLE_AFTER (read again under its row lock, so that a success committed
   * meanwhile counts), is disabled in the same transaction, and its failures in the batch
   * are final.
   */
  private async recordFailures(batch: FailureRecord[]): Promise<FailureDecision[]> {
    return this.deliveries.transaction(async (manager) => {
      await this.deliveries.insertFailedAttempts(
        manager,
        batch.map((r) => ({
          delivery_id: r.ctx.delivery.id,
          number: r.ctx.attempt,
          started_at: r.startedAt.toISOString(),
          duration_ms: r.answer.durationMs,
          status_code: r.answer.statusCode,
          excerpt: r.answer.excerpt,
          error: r.note ? `${r.failure} (${r.note})` : r.failure,
        })),
      );
      const streaks = await this.health.recordStreaks(manager, batch);
      const disabling = await this.health.endpointsToDisable(manager, batch, streaks);
      // The deliveries whose schedule is spent (not ended by a disabled endpoint): message.attempt.exhausted.
      const exhausted: { ctx: AttemptContext; error: string }[] = [];
      const decisions = batch.map((r): FailureDecision => {
        const why =
          disabling.get(r.ctx.endpoint.id)?.why ?? this.health.endsWithoutDisabling(r, streaks.get(r.ctx.endpoint.id));
        if (why) return { nextDelayMs: null, why };
        const nextDelayMs = this.schedules.for(r.ctx.owner).nextDelayMs(r.ctx.attempt, r.answer.retryAfterMs);
        if (nextDelayMs !== null) return { nextDelayMs };
        exhausted.push({ ctx: r.ctx, error: r.failure.slice(0, 500) });
        return { nextDelayMs, why: `all ${r.ctx.attempt} attempts failed` };
      });
      await this.deliveries.updateFailed(
        manager,
        batch.map((r, i) => ({
          id: r.ctx.delivery.id,
          status: decisions[i].nextDelayMs === null ? 'failed' : 'pending',
          attempts: r.ctx.attempt,
          started_at: r.startedAt.toISOString(),
          status_code: r.answer.statusCode,
          error: r.failure.slice(0, 500),
          delay_ms: decisions[i].nextDelayMs,
          event_id: r.ctx.message.eventId,
          mirror: this.hooks.mirrorOf(r.ctx),
        })),
        this.hooks.mirrors(),
      );
      for (const d of disabling.values()) await this.health.disable(manager, d.owner, d.endpoint, d.reason);
      await this.notices.exhausted(manager, exhausted);
      return decisions;
    });
  }
}
