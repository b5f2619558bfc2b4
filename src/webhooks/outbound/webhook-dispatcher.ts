import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { DataSource, type EntityManager } from 'typeorm';
import { Agent, request } from 'undici';
import { signHeader } from '../../common/crypto/standard-webhooks.js';
import { GroupCommit } from '../../common/db/group-commit.js';
import { isDatabaseUnavailable } from '../../common/errors/unavailable.js';
import { prefixedId } from '../../common/ids.js';
import type { AllConfig } from '../../config/env.js';
import type { AddressPolicy } from './http/address-policy.js';
import { createGuardedAgent } from './http/guarded-agent.js';
import { OutboundAddressPolicies } from './http/outbound-address-policies.js';
import { OutboundHooks, type AttemptContext } from './outbound-hooks.js';
import { OutboundMetrics } from './outbound-metrics.js';
import { WebhookDelivery, WebhookEndpoint, WebhookMessage, type OutboundOwner } from './outbound.entities.js';
import { formatDuration, parseDuration } from '../../common/duration.js';
import { RetrySchedule } from './retry-schedule.js';
import { SigningSecrets } from './signing-secrets.js';
import { WebhookOutbox, type Published } from './webhook-outbox.js';
import { preparedQuery } from '../../common/db/prepared-query.js';
import { HOUR_MS, MAX_DELIVERY_WAIT_MS } from '../../config/bounds.js';

/** The longest Retry-After the PSP mock's sender honours. */
export const PSP_MAX_RETRY_AFTER_MS = 10 * 60_000;

interface SuccessRecord {
  delivery_id: string;
  endpoint_id: string;
  number: number;
  started_at: string;
  duration_ms: number;
  status_code: number;
  excerpt: string | null;
}

interface FailureRecord {
  ctx: AttemptContext;
  startedAt: Date;
  answer: HttpAnswer;
  failure: string;
  tampered: boolean;
}

/** An endpoint's failure streak: when it began, and the endpoint's status. */
interface Streak {
  failingSince: Date;
  status: string;
}

/** An endpoint a failure batch disables, why, and what the failures' log lines say. */
interface Disabling {
  reason: string;
  why: string;
  endpoint: WebhookEndpoint;
  owner: OutboundOwner;
}

const GONE_WHY = 'the endpoint answered 410 Gone and is disabled';
const STREAK_WHY = 'the endpoint kept failing and is disabled';

/** After a recorded attempt: the wait before the next one, or null when the delivery is final (and why). */
interface FailureDecision {
  nextDelayMs: number | null;
  why?: string;
}

interface LoadedRow {
  id: string;
  status: WebhookDelivery['status'];
  attempts: number;
  message_id: string;
  endpoint_id: string;
  created_at: Date;
  owner: OutboundOwner;
  event_id: string;
  event_type: string;
  body: string;
  message_created_at: Date;
  kind: WebhookEndpoint['kind'];
  url: string;
  endpoint_status: WebhookEndpoint['status'];
  disabled_reason: string | null;
  secret_sealed: string | null;
  previous_secret_sealed: string | null;
  sealing_key_id: string | null;
  previous_secret_expires_at: Date | null;
  rate_limit_per_s: number | null;
}

/** The first bytes of an answer kept on the attempt. */
export const RESPONSE_EXCERPT_BYTES = 1024;

/**
 * Thrown to Bull so that the job runs again after `delayMs` (the delivery queues'
 * backoff strategy reads it). `counted`: a real attempt failed; otherwise the
 * attempt was only put off (rate limit, endpoint busy) and nothing was sent.
 */
export class DeliveryDeferred extends Error {
  /**
   * `unrecorded`: the attempt was sent but its outcome could not be recorded, the
   * `unrecorded`th time in a row (kept with the job, so the next such wait is longer).
   */
  constructor(
    message: string,
    readonly delayMs: number,
    readonly counted: boolean,
    readonly unrecorded?: number,
  ) {
    super(message);
    this.name = 'DeliveryDeferred';
    // Flow control, not a fault: without a stack, Bull records only the reason. It appends
    // every failure's stack to the job and rewrites the job whole, so a delivery deferred
    // behind a rate limit or a busy endpoint every second would grow by a stack each time
    // (docs/decisions/0007-stackless-deferrals.md).
    this.stack = undefined;
  }
}

/** How long Bull waits before it runs a delivery again after an unexpected error (the database unreachable, say). */
export const UNEXPECTED_ERROR_RETRY_MS = 5000;

/**
 * After an attempt that was sent but whose outcome PostgreSQL did not record (it refused
 * the write, or is down), the delivery is still pending: it is sent again, but never at
 * once. The wait is the schedule's step for that attempt, and at least 5 s doubled with
 * each such attempt in a row, up to an hour (docs/decisions/0402-unrecorded-attempts.md).
 */
export const UNRECORDED_BACKOFF_BASE_MS = 5000;
export const UNRECORDED_BACKOFF_MAX_MS = HOUR_MS;

/** The wait after the `n`th attempt in a row whose outcome could not be recorded (`stepMs`: the schedule's). */
export function unrecordedBackoffMs(n: number, stepMs: number | null): number {
  const exponential = Math.min(
    UNRECORDED_BACKOFF_MAX_MS,
    UNRECORDED_BACKOFF_BASE_MS * 2 ** Math.min(Math.max(n, 1) - 1, 20),
  );
  return Math.min(MAX_DELIVERY_WAIT_MS, Math.max(stepMs ?? 0, exponential));
}

/** Bull backoff strategy of the delivery queues: the wait the engine decided. */
export function engineBackoff(_attemptsMade: number, err: unknown): number {
  return err instanceof DeliveryDeferred ? err.delayMs : UNEXPECTED_ERROR_RETRY_MS;
}

export interface HttpAnswer {
  statusCode: number | null;
  retryAfterMs: number | null;
  excerpt: string | null;
  error: string | null;
  durationMs: number;
}

/**
 * Sends one delivery attempt and records it: signs (Standard Webhooks; during a
 * rotation's grace period with both secrets), POSTs through an undici pool that
 * refuses private addresses at connect time, and writes the attempt, the delivery's
 * new state and the endpoint's health in one transaction. Then either the delivery
 * is final, or the job is rescheduled for the schedule's next step.
 */
@Injectable()
export class WebhookDispatcher implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Outbound');
  /** One connection pool per address policy: a pooled socket was checked by the policy of its pool. */
  private readonly agents: Map<AddressPolicy, Agent>;
  private readonly timeoutMs: number;
  private readonly schedules: Record<OutboundOwner, RetrySchedule>;
  private readonly disableAfterMs: number;
  private readonly perEndpoint: number;
  private readonly inFlight = new Map<string, number>();
  private readonly redis: Redis;
  private readonly rateKeyPrefix: string;
  /**
   * Successes of concurrent deliveries share one statement and one commit. A batch
   * PostgreSQL refuses for another reason than being down is recorded again one by one,
   * so only the delivery at fault is sent again, not every delivery of its batch.
   */
  private readonly successes = new GroupCommit<SuccessRecord, void>((batch) => this.recordSuccesses(batch), 128, 2, {
    retryAlone: (err) => !isDatabaseUnavailable(err),
  });
  /**
   * Failures of concurrent deliveries share one transaction, as successes do, and a
   * refused batch is recorded again one by one: one transaction per failure cost about
   * five times the CPU (docs/decisions/0004-outbound-batched-records.md).
   */
  private readonly failures = new GroupCommit<FailureRecord, FailureDecision>(
    (batch) => this.recordFailures(batch),
    128,
    2,
    { retryAlone: (err) => !isDatabaseUnavailable(err) },
  );
  /** Deliveries picked up together are read together, in one query. */
  private readonly loads = new GroupCommit<string, LoadedRow | null>((ids) => this.loadRows(ids), 128, 2);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly outbox: WebhookOutbox,
    private readonly hooks: OutboundHooks,
    private readonly metrics: OutboundMetrics,
    private readonly policies: OutboundAddressPolicies,
    private readonly secrets: SigningSecrets,
    config: ConfigService<AllConfig, true>,
  ) {
    this.timeoutMs = config.get('WEBHOOK_ATTEMPT_TIMEOUT_MS', { infer: true });
    this.schedules = {
      shop: RetrySchedule.parse(config.get('WEBHOOK_RETRY_SCHEDULE', { infer: true })),
      // The PSP mock retries as its own settings say (fast, so the shop's receiver is
      // exercised) and waits as long as the shop's backpressure asks, up to 10 min.
      psp: RetrySchedule.exponential(
        config.get('PSP_DELIVERY_ATTEMPTS', { infer: true }),
        config.get('PSP_DELIVERY_BACKOFF_MS', { infer: true }),
        PSP_MAX_RETRY_AFTER_MS,
      ),
    };
    this.disableAfterMs = parseDuration(config.get('WEBHOOK_DISABLE_AFTER', { infer: true }));
    this.perEndpoint = config.get('WEBHOOK_ENDPOINT_CONCURRENCY', { infer: true });
    const agentOptions = {
      connections: 64,
      keepAliveTimeoutMs: 10_000,
      connectTimeoutMs: Math.min(this.timeoutMs, 10_000),
    };
    this.agents = new Map(
      [policies.endpoints, policies.callbacks].map((policy) => [policy, createGuardedAgent(policy, agentOptions)]),
    );
    this.rateKeyPrefix = `${config.get('REDIS_PREFIX', { infer: true })}:webhook-rate:`;
    this.redis = new Redis(config.get('REDIS_URL', { infer: true }), {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    this.redis.on('error', () => undefined); // a limiter that cannot count lets the delivery through
  }

  /** Connected before the first delivery: a limiter still connecting would let everything through. */
  async onModuleInit(): Promise<void> {
    await this.redis.connect().catch((err: Error) => {
      this.logger.warn(`Rate limiter cannot reach Redis yet (${err.message}); endpoints are not limited until it can`);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
    this.redis.disconnect();
  }

  schedule(owner: OutboundOwner): RetrySchedule {
    return this.schedules[owner];
  }

  /**
   * One attempt of a delivery (a Bull job). Returns when the delivery needs nothing
   * more; throws DeliveryDeferred when it must run again later. `unrecordedBefore`: how
   * many attempts in a row before this one were sent without their outcome recorded.
   */
  async attempt(owner: OutboundOwner, deliveryId: string, unrecordedBefore = 0): Promise<string> {
    const delivery = await this.load(deliveryId);
    if (!delivery) return 'gone';
    if (delivery.status !== 'pending') return `already ${delivery.status}`;
    const { message, endpoint } = delivery;
    if (endpoint.status !== 'enabled') {
      await this.db.query(
        `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2 WHERE id = $1 AND status = 'pending'`,
        [deliveryId, `endpoint disabled: ${endpoint.disabledReason ?? ''}`],
      );
      return 'endpoint disabled';
    }
    // The attempt's start is also its rate-limit window: attempts per second on record never exceed the limit.
    const startedAt = new Date();
    await this.admit(endpoint, startedAt);
    this.inFlight.set(endpoint.id, (this.inFlight.get(endpoint.id) ?? 0) + 1);
    const ctx: AttemptContext = { owner, delivery, message, endpoint, attempt: delivery.attempts + 1 };
    const hooks = this.hooks.for(owner);
    let answer: HttpAnswer;
    let tampered: boolean;
    try {
      tampered = (await hooks.beforeAttempt?.(ctx))?.tamper ?? false;
      answer = await this.post(owner, endpoint, message.eventId, delivery.body, tampered);
    } finally {
      const n = (this.inFlight.get(endpoint.id) ?? 1) - 1;
      if (n > 0) this.inFlight.set(endpoint.id, n);
      else this.inFlight.delete(endpoint.id);
    }
    const succeeded = answer.statusCode !== null && answer.statusCode >= 200 && answer.statusCode < 300;
    const failure = succeeded ? null : (answer.error ?? `HTTP ${answer.statusCode}`);
    let decision: FailureDecision;
    try {
      decision = await this.record(ctx, startedAt, answer, failure, tampered);
    } catch (err) {
      const what = `attempt ${ctx.attempt} (${failure ?? `HTTP ${answer.statusCode}`} in ${answer.durationMs} ms)`;
      if (!(await this.exists(deliveryId))) {
        this.logger.log({
          msg: `Delivery ${deliveryId} was deleted with its endpoint while its ${what} ran: nothing to record`,
          deliveryId,
          endpointId: endpoint.id,
        });
        return 'gone';
      }
      // The endpoint has had this attempt and the delivery stays pending: sent again, but not at once.
      return this.holdBack(ctx, what, err, unrecordedBefore + 1);
    }
    this.metrics.attempts.inc({ owner, outcome: succeeded ? 'succeeded' : 'failed' });
    this.metrics.attemptSeconds.observe(
      { owner, outcome: succeeded ? 'succeeded' : 'failed' },
      answer.durationMs / 1000,
    );
    const outcome = {
      succeeded,
      statusCode: answer.statusCode,
      error: failure,
      durationMs: answer.durationMs,
      final: decision.nextDelayMs === null,
      tampered,
    };
    const ids = { deliveryId, messageId: message.id, eventId: message.eventId, endpointId: endpoint.id };
    // The outcome is recorded: a publisher's hook failing must not send the attempt again.
    const after = await hooks.afterAttempt?.(ctx, outcome).catch((err: Error) => {
      this.logger.error({
        msg: `Delivery ${deliveryId}: the ${owner} afterAttempt hook failed: ${err.message}`,
        ...ids,
      });
    });
    const target = `${endpointOrigin(endpoint.url)} (endpoint ${endpoint.id})`;
    if (succeeded) {
      this.logger.debug({
        msg: `Delivered ${message.eventType} ${message.eventId} to ${target}: HTTP ${answer.statusCode} in ${answer.durationMs} ms (attempt ${ctx.attempt})`,
        ...ids,
      });
      if (after?.duplicate) await this.duplicate(owner, endpoint, message.eventId, delivery.body);
      return 'succeeded';
    }
    const what = `Delivery of ${message.eventType} ${message.eventId} to ${target} failed (attempt ${ctx.attempt}, ${answer.durationMs} ms): ${failure}${tampered ? ' (signature tampered by chaos)' : ''}`;
    if (decision.nextDelayMs === null) {
      this.logger.warn({ msg: `${what}; giving up${decision.why ? ` (${decision.why})` : ''}`, ...ids });
      return 'failed';
    }
    this.logger.warn({ msg: `${what}; next attempt in ${decision.nextDelayMs} ms`, ...ids });
    throw new DeliveryDeferred(what, decision.nextDelayMs, true);
  }

  /**
   * After an attempt that was sent but could not be recorded, the `n`th in a row: the
   * delivery waits unrecordedBackoffMs (counted, logged, and written on its row when
   * PostgreSQL takes that much, so the sweeper leaves it alone meanwhile).
   */
  private async holdBack(ctx: AttemptContext, what: string, err: unknown, n: number): Promise<never> {
    const { owner, delivery, endpoint } = ctx;
    const delayMs = unrecordedBackoffMs(n, this.schedules[owner].stepsMs[ctx.attempt - 1] ?? null);
    const why = `${what} was sent but could not be recorded (${n} in a row): ${(err as Error).message}`;
    this.metrics.unrecorded.inc({ owner });
    const noted = await this.db
      .query(
        `UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2 / 1000.0), last_error = $3
          WHERE id = $1 AND status = 'pending'`,
        [delivery.id, delayMs, why.slice(0, 500)],
      )
      .then(
        () => '',
        (e: Error) => ` (nor could its next attempt be: ${e.message})`,
      );
    this.logger.error({
      msg: `Delivery ${delivery.id} to ${endpointOrigin(endpoint.url)} (endpoint ${endpoint.id}): ${why}${noted}; not sent again for ${delayMs} ms`,
      deliveryId: delivery.id,
      endpointId: endpoint.id,
    });
    throw new DeliveryDeferred(why, delayMs, true, n);
  }

  /**
   * The delivery with its message and endpoint, in one query shared with the
   * deliveries picked up at the same time; the body is the stored payload's text,
   * sent as is on every attempt.
   */
  private async load(
    deliveryId: string,
  ): Promise<(WebhookDelivery & { message: WebhookMessage; endpoint: WebhookEndpoint; body: string }) | null> {
    const row = await this.loads.submit(deliveryId);
    if (!row) return null;
    const message = Object.assign(new WebhookMessage(), {
      id: row.message_id,
      owner: row.owner,
      eventId: row.event_id,
      eventType: row.event_type,
      createdAt: row.message_created_at,
    });
    const endpoint = Object.assign(new WebhookEndpoint(), {
      id: row.endpoint_id,
      owner: row.owner,
      kind: row.kind,
      url: row.url,
      status: row.endpoint_status,
      disabledReason: row.disabled_reason,
      sealedSecret: row.secret_sealed,
      sealedPreviousSecret: row.previous_secret_sealed,
      sealingKeyId: row.sealing_key_id,
      previousSecretExpiresAt: row.previous_secret_expires_at,
      rateLimitPerS: row.rate_limit_per_s,
    });
    return Object.assign(new WebhookDelivery(), {
      id: row.id,
      status: row.status,
      attempts: row.attempts,
      messageId: row.message_id,
      endpointId: row.endpoint_id,
      createdAt: row.created_at,
      message,
      endpoint,
      body: row.body,
    });
  }

  /** Whether the delivery is still there (an endpoint's deletion takes its deliveries); true when that cannot be told. */
  private async exists(deliveryId: string): Promise<boolean> {
    try {
      const rows = await this.db.query<unknown[]>(`SELECT 1 FROM webhook_deliveries WHERE id = $1`, [deliveryId]);
      return rows.length > 0;
    } catch {
      return true;
    }
  }

  private async loadRows(ids: string[]): Promise<(LoadedRow | null)[]> {
    const rows = await preparedQuery<LoadedRow>(
      this.db.manager,
      'hookline_deliveries_load',
      `SELECT d.id, d.status, d.attempts, d.message_id, d.endpoint_id, d.created_at,
              m.owner, m.event_id, m.event_type, m.payload::text AS body, m.created_at AS message_created_at,
              e.kind, e.url, e.status AS endpoint_status, e.disabled_reason, e.secret_sealed, e.previous_secret_sealed,
              e.sealing_key_id, e.previous_secret_expires_at, e.rate_limit_per_s
         FROM webhook_deliveries d
         JOIN webhook_messages m ON m.id = d.message_id
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /**
   * Puts the attempt off (without counting it) when the endpoint is at its rate limit
   * or already has its share of this process's slots — so one slow endpoint cannot
   * hold every slot and delay the others.
   */
  private async admit(endpoint: WebhookEndpoint, at: Date): Promise<void> {
    if ((this.inFlight.get(endpoint.id) ?? 0) >= this.perEndpoint) {
      this.metrics.deferred.inc({ reason: 'endpoint_busy' });
      throw new DeliveryDeferred(`endpoint ${endpoint.id} is busy`, 200 + Math.floor(Math.random() * 300), false);
    }
    if (endpoint.rateLimitPerS === null) return;
    const second = Math.floor(at.getTime() / 1000);
    let count: number;
    try {
      const key = `${this.rateKeyPrefix}${endpoint.id}:${second}`;
      const [[, n]] = (await this.redis.multi().incr(key).pexpire(key, 2000).exec()) as [[unknown, number]];
      count = n;
    } catch {
      return;
    }
    if (count > endpoint.rateLimitPerS) {
      this.metrics.deferred.inc({ reason: 'rate_limited' });
      const untilNextSecond = (second + 1) * 1000 - Date.now();
      throw new DeliveryDeferred(
        `endpoint ${endpoint.id} is at its rate limit (${endpoint.rateLimitPerS}/s)`,
        untilNextSecond + Math.floor(Math.random() * 1000),
        false,
      );
    }
  }

  /**
   * Writes the attempt and what follows from it. A success joins the batch of
   * concurrent successes; a failure the batch of concurrent failures (`recordFailures`).
   */
  private async record(
    ctx: AttemptContext,
    startedAt: Date,
    answer: HttpAnswer,
    failure: string | null,
    tampered: boolean,
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
      });
      return { nextDelayMs: null };
    }
    return this.failures.submit({ ctx, startedAt, answer, failure, tampered });
  }

  /**
   * The failed attempts of concurrent deliveries, in one transaction of four round trips
   * whatever their number: the attempts inserted, the streaks of their endpoints (only a
   * streak's first failure writes the endpoint's row), then each delivery's next attempt
   * or end in one statement. An endpoint that answered 410, or whose streak has lasted
   * WEBHOOK_DISABLE_AFTER (read again under its row lock, so that a success committed
   * meanwhile counts), is disabled in the same transaction, and its failures in the batch
   * are final.
   */
  private async recordFailures(batch: FailureRecord[]): Promise<FailureDecision[]> {
    return this.db.transaction(async (manager) => {
      await preparedQuery(
        manager,
        'hookline_deliveries_failed_attempts',
        `INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status_code, response_excerpt, error, succeeded)
         SELECT delivery_id, number, started_at, duration_ms, status_code, excerpt, error, false
           FROM jsonb_to_recordset($1::jsonb) AS x(delivery_id uuid, number int, started_at timestamptz, duration_ms int,
                status_code int, excerpt text, error text)`,
        [
          JSON.stringify(
            batch.map((r) => ({
              delivery_id: r.ctx.delivery.id,
              number: r.ctx.attempt,
              started_at: r.startedAt.toISOString(),
              duration_ms: r.answer.durationMs,
              status_code: r.answer.statusCode,
              excerpt: r.answer.excerpt,
              error: r.tampered ? `${r.failure} (signature tampered by chaos)` : r.failure,
            })),
          ),
        ],
      );
      const streaks = await this.recordStreaks(manager, batch);
      const disabling = await this.endpointsToDisable(manager, batch, streaks);
      const decisions = batch.map((r): FailureDecision => {
        const why =
          disabling.get(r.ctx.endpoint.id)?.why ?? this.endsWithoutDisabling(r, streaks.get(r.ctx.endpoint.id));
        if (why) return { nextDelayMs: null, why };
        const nextDelayMs = this.schedules[r.ctx.owner].nextDelayMs(r.ctx.attempt, r.answer.retryAfterMs);
        return nextDelayMs === null ? { nextDelayMs, why: `all ${r.ctx.attempt} attempts failed` } : { nextDelayMs };
      });
      await preparedQuery(
        manager,
        'hookline_deliveries_failed',
        `UPDATE webhook_deliveries w SET status = x.status, attempts = x.attempts, last_attempt_at = x.started_at,
                last_status_code = x.status_code, last_error = x.error,
                next_attempt_at = CASE WHEN x.delay_ms IS NULL THEN NULL ELSE now() + make_interval(secs => x.delay_ms / 1000.0) END
           FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, status text, attempts int, started_at timestamptz,
                status_code int, error text, delay_ms int)
          WHERE w.id = x.id`,
        [
          JSON.stringify(
            batch.map((r, i) => ({
              id: r.ctx.delivery.id,
              status: decisions[i].nextDelayMs === null ? 'failed' : 'pending',
              attempts: r.ctx.attempt,
              started_at: r.startedAt.toISOString(),
              status_code: r.answer.statusCode,
              error: r.failure.slice(0, 500),
              delay_ms: decisions[i].nextDelayMs,
            })),
          ),
        ],
      );
      for (const d of disabling.values()) await this.disable(manager, d.owner, d.endpoint, d.reason);
      return decisions;
    });
  }

  /**
   * The failure streaks of the batch's endpoints: when each began and the endpoint's
   * status. Only a streak's first failure writes the row (`failing_since`; rows locked in
   * id order): every failure writing it queued the failing deliveries' transactions behind
   * each other on that row lock (docs/decisions/0005-failure-streak-single-write.md).
   * Read from the statement's snapshot, a streak another transaction began meanwhile shows as null:
   * it began with this batch as far as the batch knows.
   */
  private async recordStreaks(manager: EntityManager, batch: FailureRecord[]): Promise<Map<string, Streak>> {
    const first = new Map<string, Date>();
    for (const r of batch) {
      const seen = first.get(r.ctx.endpoint.id);
      if (!seen || r.startedAt < seen) first.set(r.ctx.endpoint.id, r.startedAt);
    }
    const ids = [...first.keys()];
    const rows = await preparedQuery<{ id: string; failing_since: Date | null; status: string }>(
      manager,
      'hookline_endpoint_streaks',
      `WITH x AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, since)),
       u AS (UPDATE webhook_endpoints w SET failing_since = x.since FROM x
              WHERE w.id = x.id AND w.id IN (SELECT id FROM webhook_endpoints
                                              WHERE id = ANY($1::uuid[]) AND failing_since IS NULL
                                              ORDER BY id FOR UPDATE)
             RETURNING w.id, w.failing_since, w.status)
       SELECT id, failing_since, status FROM u
       UNION ALL
       SELECT id, failing_since, status FROM webhook_endpoints
        WHERE id = ANY($1::uuid[]) AND id NOT IN (SELECT id FROM u)`,
      [ids, ids.map((id) => first.get(id)!.toISOString())],
    );
    return new Map(
      rows.map((r) => [r.id, { failingSince: new Date(r.failing_since ?? first.get(r.id)!), status: r.status }]),
    );
  }

  private streakDue(r: FailureRecord, failingSince: Date): boolean {
    return r.startedAt.getTime() - failingSince.getTime() >= this.disableAfterMs;
  }

  /**
   * Why a failure is final although the batch does not disable its endpoint: a 410 or a
   * streak long enough from an endpoint disabled already (as when one failure was one
   * transaction). Undefined when it is not.
   */
  private endsWithoutDisabling(r: FailureRecord, streak?: Streak): string | undefined {
    if (r.answer.statusCode === 410) return GONE_WHY;
    if (streak && streak.status !== 'enabled' && this.streakDue(r, streak.failingSince)) {
      return STREAK_WHY;
    }
    return undefined;
  }

  /**
   * The enabled endpoints of the batch to disable, in id order: one that answered 410,
   * or one whose streak has lasted WEBHOOK_DISABLE_AFTER by its latest failure here —
   * read again under the row lock, so that a success committed meanwhile (which ends
   * the streak) counts.
   */
  private async endpointsToDisable(
    manager: EntityManager,
    batch: FailureRecord[],
    streaks: Map<string, Streak>,
  ): Promise<Map<string, Disabling>> {
    const disabling = new Map<string, Disabling>();
    const latest = new Map<string, FailureRecord>();
    for (const r of batch) {
      const id = r.ctx.endpoint.id;
      if (streaks.get(id)?.status !== 'enabled') continue;
      if (!latest.has(id) || r.startedAt >= latest.get(id)!.startedAt) latest.set(id, r);
      if (r.answer.statusCode === 410 && !disabling.has(id)) {
        disabling.set(id, {
          reason: `answered 410 Gone at ${r.startedAt.toISOString()}`,
          why: GONE_WHY,
          endpoint: r.ctx.endpoint,
          owner: r.ctx.owner,
        });
      }
    }
    for (const id of [...latest.keys()].sort()) {
      const r = latest.get(id)!;
      if (disabling.has(id) || !this.streakDue(r, streaks.get(id)!.failingSince)) continue;
      const [locked] = await manager.query<{ failing_since: Date; status: string }[]>(
        `WITH u AS (UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $2) WHERE id = $1
                    RETURNING failing_since, status)
         SELECT failing_since, status FROM u`,
        [id, r.startedAt],
      );
      if (locked?.status !== 'enabled' || !this.streakDue(r, new Date(locked.failing_since))) continue;
      disabling.set(id, {
        reason: `no successful delivery since ${new Date(locked.failing_since).toISOString()} (failing longer than ${formatDuration(this.disableAfterMs)})`,
        why: STREAK_WHY,
        endpoint: r.ctx.endpoint,
        owner: r.ctx.owner,
      });
    }
    return new Map([...disabling].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /**
   * One statement for a batch of successful attempts: the attempts inserted, the
   * deliveries succeeded, and each endpoint's last success (only when it changes
   * anything, or once a second; endpoint rows locked in id order). A delivery deleted
   * meanwhile (with its endpoint) is left out rather than failing the whole batch.
   */
  private async recordSuccesses(batch: SuccessRecord[]): Promise<void[]> {
    await preparedQuery(
      this.db.manager,
      'hookline_deliveries_succeeded',
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(delivery_id uuid, endpoint_id uuid, number int,
                started_at timestamptz, duration_ms int, status_code int, excerpt text)),
       d AS (UPDATE webhook_deliveries w SET status = 'succeeded', attempts = i.number, last_attempt_at = i.started_at,
                    last_status_code = i.status_code, last_error = NULL, next_attempt_at = NULL, succeeded_at = now()
               FROM input i WHERE w.id = i.delivery_id
             RETURNING w.id),
       -- Attempts only for the deliveries still there (d's rows), with no second look-up.
       a AS (INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status_code, response_excerpt, error, succeeded)
             SELECT i.delivery_id, i.number, i.started_at, i.duration_ms, i.status_code, i.excerpt, NULL, true
               FROM input i JOIN d ON d.id = i.delivery_id),
       e AS (UPDATE webhook_endpoints w SET last_success_at = now(), failing_since = NULL
              WHERE w.id IN (SELECT id FROM webhook_endpoints
                              WHERE id IN (SELECT endpoint_id FROM input)
                                AND (failing_since IS NOT NULL OR last_success_at IS NULL
                                     OR last_success_at < now() - interval '1 second')
                              ORDER BY id FOR UPDATE))
       SELECT count(*)::int AS n FROM input`,
      [JSON.stringify(batch)],
    );
    return batch.map(() => undefined);
  }

  /** Disables an endpoint (inside `manager`), fails its pending deliveries, publishes `endpoint.disabled`. */
  async disable(
    manager: EntityManager,
    owner: OutboundOwner,
    endpoint: WebhookEndpoint,
    reason: string,
  ): Promise<Published | null> {
    const changed = await manager.query<{ id: string }[]>(
      `WITH d AS (UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, disabled_at = now(), updated_at = now()
                   WHERE id = $1 AND status = 'enabled' RETURNING id) SELECT id FROM d`,
      [endpoint.id, reason],
    );
    if (changed.length === 0) return null;
    await manager.query(
      `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2
        WHERE endpoint_id = $1 AND status = 'pending'`,
      [endpoint.id, `endpoint disabled: ${reason}`],
    );
    this.metrics.endpointsDisabled.inc({ owner });
    this.logger.error({
      msg: `Disabled ${owner} webhook endpoint ${endpoint.id} (${endpointOrigin(endpoint.url)}): ${reason}`,
      endpointId: endpoint.id,
    });
    const eventId = prefixedId('evt');
    return this.outbox.publish(manager, {
      owner,
      eventId,
      eventType: 'endpoint.disabled',
      payload: {
        event_id: eventId,
        type: 'endpoint.disabled',
        created_at: new Date().toISOString(),
        data: { endpoint_id: endpoint.id, url: endpoint.url, reason },
      },
    });
  }

  /** The headers that sign `body` for this endpoint. */
  signatureHeaders(owner: OutboundOwner, endpoint: WebhookEndpoint, id: string, body: string): Record<string, string> {
    const timestamp = Math.floor(Date.now() / 1000);
    if (endpoint.kind === 'callback' || !endpoint.sealedSecret) {
      const signer = this.hooks.for(owner).callbackSigner;
      if (!signer) throw new Error(`No signer for ${owner} callback deliveries`);
      return signer.sign(id, timestamp, body);
    }
    // Opened once per endpoint and kept in memory while its sealed values stay the same.
    const { secret, previousSecret } = this.secrets.open(endpoint);
    const secrets = [secret!];
    if (previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > new Date()) {
      secrets.push(previousSecret);
    }
    return {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signHeader(secrets, id, timestamp, body),
    };
  }

  /** One signed POST; never throws (a failure is in the answer). */
  async post(
    owner: OutboundOwner,
    endpoint: WebhookEndpoint,
    id: string,
    body: string,
    tamper = false,
  ): Promise<HttpAnswer> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    try {
      const headers = this.signatureHeaders(owner, endpoint, id, body);
      const res = await request(endpoint.url, {
        method: 'POST',
        dispatcher: this.agents.get(this.policies.for(endpoint)),
        headers: {
          'content-type': 'application/json',
          'user-agent': owner === 'psp' ? 'hookline-psp-mock/1.0' : 'hookline-webhooks/1.0',
          ...headers,
        },
        body: tamper ? tamperBody(body) : body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const excerpt = await readExcerpt(res.body);
      const retryAfterMs =
        res.statusCode === 429 || res.statusCode === 503 ? parseRetryAfter(res.headers['retry-after']) : null;
      return { statusCode: res.statusCode, retryAfterMs, excerpt, error: null, durationMs: took() };
    } catch (err) {
      return {
        statusCode: null,
        retryAfterMs: null,
        excerpt: null,
        error: describeError(err, this.timeoutMs),
        durationMs: took(),
      };
    }
  }

  private async duplicate(owner: OutboundOwner, endpoint: WebhookEndpoint, id: string, body: string): Promise<void> {
    const answer = await this.post(owner, endpoint, id, body);
    this.logger.log({
      msg: `Sent ${id} a second time (chaos duplicate): ${answer.error ?? `HTTP ${answer.statusCode}`}`,
      eventId: id,
      endpointId: endpoint.id,
    });
  }
}

/** Reads at most RESPONSE_EXCERPT_BYTES of a body, then lets the rest go. */
async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= RESPONSE_EXCERPT_BYTES) {
      body.destroy();
      break;
    }
  }
  if (size === 0) return null;
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8').replaceAll('\0', '');
}

/** A failure as one line an operator understands: timeouts, refused targets, connection errors. */
export function describeError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { code?: string; cause?: Error & { code?: string } };
  const name = e?.name ?? '';
  if (
    name === 'TimeoutError' ||
    name === 'HeadersTimeoutError' ||
    name === 'BodyTimeoutError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `timeout: no complete answer within ${timeoutMs} ms`;
  }
  let inner: (Error & { code?: string; cause?: unknown }) | undefined = e;
  for (let i = 0; i < 4 && inner; i++) {
    if (inner.name === 'RefusedAddressError' || inner.code === 'WEBHOOK_TARGET_REFUSED') return inner.message;
    inner = inner.cause as typeof inner;
  }
  const cause = e?.cause;
  const code = cause?.code ?? e?.code;
  const message = cause?.message ?? e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Retry-After as ms (at most MAX_DELIVERY_WAIT_MS): delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return null;
  // Capped: whatever a receiver asks, the wait stays one the engine can store and schedule.
  if (/^\d+$/.test(raw)) return Math.min(Number(raw) * 1000, MAX_DELIVERY_WAIT_MS);
  if (/^[-+.\d]+$/.test(raw)) return null;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - nowMs), MAX_DELIVERY_WAIT_MS);
}

/** The body with one byte changed after signing (chaos): still JSON, signature no longer matches. */
export function tamperBody(body: string): string {
  const m = /:\s*"/.exec(body);
  const i = m ? m.index + m[0].length : -1;
  if (i < 0 || i >= body.length) return body + ' ';
  const c = body[i];
  const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return body.slice(0, i) + (swapped === c ? (c === 'x' ? 'y' : 'x') : swapped) + body.slice(i + 1);
}

export function endpointOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}
