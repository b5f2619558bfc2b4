import { Injectable, Logger } from '@nestjs/common';
import { GroupCommit } from '../../../common/db/group-commit.js';
import { DeliveriesRepository, type LoadedDelivery } from '../deliveries.repository.js';
import { OutboundHooks, endpointOrigin, type AttemptContext } from '../outbound-hooks.js';
import { OutboundMetrics } from '../outbound-metrics.js';
import type { OutboundOwner, WebhookEndpoint } from '../outbound.entities.js';
import { DeliveryHttpClient, type HttpAnswer } from './delivery-http-client.js';
import { DeliveryDeferred, unrecordedBackoffMs } from './delivery-job.js';
import { DeliveryRecorder, type FailureDecision } from './delivery-recorder.js';
import { DeliverySchedules } from './delivery-schedules.js';
import { EndpointThrottle } from './endpoint-throttle.js';
import { SpanKind, endWithError, startChildSpan, withSpan } from '../../../telemetry/trace-context.js';

/**
 * One attempt of a delivery: load it (with the deliveries picked up at the same time),
 * admit it past its endpoint's limits, sign and POST it, record the outcome, then either
 * the delivery is final or the job is rescheduled for the schedule's next step.
 */
@Injectable()
export class DeliveryAttempt {
  private readonly logger = new Logger('Outbound');
  /** Deliveries picked up together are read together, in one query. */
  private readonly loads = new GroupCommit<string, LoadedDelivery | null>(
    (ids) => this.deliveries.loadMany(ids),
    128,
    2,
  );

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly throttle: EndpointThrottle,
    private readonly http: DeliveryHttpClient,
    private readonly recorder: DeliveryRecorder,
    private readonly schedules: DeliverySchedules,
    private readonly hooks: OutboundHooks,
    private readonly metrics: OutboundMetrics,
  ) {}

  /**
   * One attempt of a delivery (a Bull job). Returns when the delivery needs nothing
   * more; throws DeliveryDeferred when it must run again later. `unrecordedBefore`: how
   * many attempts in a row before this one were sent without their outcome recorded;
   * `slot`: the second of the rate-limit slot it was put off to, if it was.
   */
  async run(owner: OutboundOwner, deliveryId: string, unrecordedBefore = 0, slot?: number): Promise<string> {
    const delivery = await this.loads.submit(deliveryId);
    if (!delivery) return 'gone';
    return this.runLoaded(owner, delivery, unrecordedBefore, slot);
  }

  /** `run` for a delivery already loaded (by the statement that wrote it: DirectSender). */
  async runLoaded(
    owner: OutboundOwner,
    delivery: LoadedDelivery,
    unrecordedBefore = 0,
    slot?: number,
  ): Promise<string> {
    const deliveryId = delivery.id;
    if (delivery.status !== 'pending') return `already ${delivery.status}`;
    const { message, endpoint } = delivery;
    if (endpoint.status !== 'enabled') {
      await this.deliveries.failPending(deliveryId, `endpoint disabled: ${endpoint.disabledReason ?? ''}`);
      return 'endpoint disabled';
    }
    // The attempt's start is also its rate-limit window: attempts per second on record never exceed the limit.
    const startedAt = new Date();
    const release = await this.throttle.admit(endpoint, startedAt, slot);
    const ctx: AttemptContext = { owner, delivery, message, endpoint, attempt: delivery.attempts + 1 };
    const hooks = this.hooks.for(owner);
    let answer: HttpAnswer;
    let note: string | null;
    // With tracing on, the attempt is a span of the trace that published the message, and
    // its POST (undici's client span, a child) carries `traceparent` to the endpoint.
    const span = startChildSpan(
      'webhook.deliver',
      message.traceContext,
      {
        'hookline.webhook.owner': owner,
        'hookline.webhook.event_id': message.eventId,
        'hookline.webhook.event_type': message.eventType,
        'hookline.delivery_id': deliveryId,
        'hookline.endpoint_id': endpoint.id,
        'hookline.delivery.attempt': ctx.attempt,
      },
      SpanKind.PRODUCER,
    );
    try {
      const transform = (await hooks.beforeAttempt?.(ctx))?.transformBody;
      answer = await withSpan(span, () =>
        this.http.post(owner, endpoint, message.eventId, delivery.body, transform && ((b) => transform.apply(b))),
      );
      note = transform?.note ?? null;
    } catch (err) {
      endWithError(span, err);
      throw err;
    } finally {
      release();
    }
    span?.setAttributes({
      'http.response.status_code': answer.statusCode ?? 0,
      ...(answer.error && { 'error.type': answer.error.slice(0, 200) }),
    });
    span?.end();
    const succeeded = answer.statusCode !== null && answer.statusCode >= 200 && answer.statusCode < 300;
    const failure = succeeded ? null : (answer.error ?? `HTTP ${answer.statusCode}`);
    let decision: FailureDecision;
    try {
      decision = await this.recorder.record(ctx, startedAt, answer, failure, note);
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
    if (answer.tlsFailure) this.metrics.tlsFailures.inc({ owner, reason: answer.tlsFailure });
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
      transformed: note !== null,
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
      if (after?.resend) await this.resend(owner, endpoint, message.eventId, delivery.body, after.resend.why);
      return 'succeeded';
    }
    const what = `Delivery of ${message.eventType} ${message.eventId} to ${target} failed (attempt ${ctx.attempt}, ${answer.durationMs} ms): ${failure}${note ? ` (${note})` : ''}`;
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
    const delayMs = unrecordedBackoffMs(n, this.schedules.for(owner).stepsMs[ctx.attempt - 1] ?? null);
    const why = `${what} was sent but could not be recorded (${n} in a row): ${(err as Error).message}`;
    this.metrics.unrecorded.inc({ owner });
    const noted = await this.deliveries.postpone(delivery.id, delayMs, why.slice(0, 500)).then(
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

  /** Whether the delivery is still there (an endpoint's deletion takes its deliveries); true when that cannot be told. */
  private async exists(deliveryId: string): Promise<boolean> {
    try {
      return await this.deliveries.exists(deliveryId);
    } catch {
      return true;
    }
  }

  /** The same message POSTed once more, as a publisher's hook asked (`why`), and logged. */
  private async resend(
    owner: OutboundOwner,
    endpoint: WebhookEndpoint,
    id: string,
    body: string,
    why: string,
  ): Promise<void> {
    const answer: HttpAnswer = await this.http.post(owner, endpoint, id, body);
    this.logger.log({
      msg: `Sent ${id} a second time (${why}): ${answer.error ?? `HTTP ${answer.statusCode}`}`,
      eventId: id,
      endpointId: endpoint.id,
    });
  }
}
