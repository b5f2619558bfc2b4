import type { EntityManager } from 'typeorm';
import type { DeliveriesRepository, FailedDeliveryRow, SucceededAttemptRow } from '../deliveries.repository.js';
import type { EndpointsRepository } from '../endpoints.repository.js';
import { OutboundHooks, type AttemptContext, type MirrorSql } from '../outbound-hooks.js';
import { WebhookDelivery, WebhookEndpoint, WebhookMessage, type EndpointKind } from '../outbound.entities.js';
import type { WebhookOutbox } from '../webhook-outbox.js';
import type { HttpAnswer } from './delivery-http-client.js';
import { DeliveryNotices } from './delivery-notices.js';
import { DeliveryRecorder } from './delivery-recorder.js';
import { DeliverySchedules } from './delivery-schedules.js';
import { EndpointHealth } from './endpoint-health.js';

const settings: Record<string, unknown> = {
  WEBHOOK_RETRY_SCHEDULE: '5s,5m',
  PSP_DELIVERY_ATTEMPTS: 3,
  PSP_DELIVERY_BACKOFF_MS: 100,
  WEBHOOK_DISABLE_AFTER: '5d',
};
const config = { get: (key: string) => settings[key] } as never;
const manager = {} as EntityManager;

/** The recorder over fake repositories: what it writes, what it disables, what it publishes. */
function recorder(streakStatus = 'enabled', hooks = new OutboundHooks()) {
  const updated: FailedDeliveryRow[] = [];
  const succeeded: SucceededAttemptRow[] = [];
  /** The mirrors each record statement was given. */
  const mirrorsGiven: (readonly MirrorSql[])[] = [];
  const disabled: string[] = [];
  const published: string[] = [];
  const deliveries = {
    transaction: (work: (m: EntityManager) => Promise<unknown>) => work(manager),
    insertFailedAttempts: () => Promise.resolve(),
    updateFailed: (_m: EntityManager, rows: FailedDeliveryRow[], mirrors: readonly MirrorSql[]) =>
      Promise.resolve(void (updated.push(...rows), mirrorsGiven.push(mirrors))),
    failPendingOfEndpoint: () => Promise.resolve(),
    recordSuccesses: (rows: SucceededAttemptRow[], mirrors: readonly MirrorSql[]) =>
      Promise.resolve(void (succeeded.push(...rows), mirrorsGiven.push(mirrors))),
  } as unknown as DeliveriesRepository;
  const endpoints = {
    beginStreaks: (_m: EntityManager, ids: string[]) =>
      Promise.resolve(ids.map((id) => ({ id, failing_since: null, status: streakStatus }))),
    lockStreak: () => Promise.resolve(undefined),
    disable: (_m: EntityManager, id: string) => {
      disabled.push(id);
      return Promise.resolve(true);
    },
  } as unknown as EndpointsRepository;
  const outbox = {
    publish: (_m: EntityManager, req: { eventType: string }) => Promise.resolve(void published.push(req.eventType)),
    publishMany: (_m: EntityManager, reqs: { eventType: string }[]) =>
      Promise.resolve(void published.push(...reqs.map((q) => q.eventType))),
  } as unknown as WebhookOutbox;
  const metrics = { endpointsDisabled: { inc: () => undefined } } as never;
  const health = new EndpointHealth(endpoints, deliveries, outbox, metrics, config);
  return {
    updated,
    succeeded,
    mirrorsGiven,
    disabled,
    published,
    recorder: new DeliveryRecorder(
      deliveries,
      health,
      new DeliverySchedules(config),
      new DeliveryNotices(outbox, deliveries),
      hooks,
    ),
  };
}

function attempt(attempt = 1, eventType = 'order.paid', kind: EndpointKind = 'registered'): AttemptContext {
  const endpoint = Object.assign(new WebhookEndpoint(), { id: 'e-1', url: 'http://example.test/hook', kind });
  const message = Object.assign(new WebhookMessage(), { id: 'm-1', eventId: 'evt_1', eventType });
  const delivery = Object.assign(new WebhookDelivery(), { id: 'd-1', attempts: attempt - 1 });
  return { owner: 'shop', delivery, message, endpoint, attempt };
}

const answer = (statusCode: number): HttpAnswer => ({
  statusCode,
  retryAfterMs: null,
  excerpt: null,
  error: null,
  durationMs: 3,
});

describe('DeliveryRecorder', () => {
  it('keeps a failed delivery pending for the schedule step', async () => {
    const r = recorder();
    const decision = await r.recorder.record(attempt(1), new Date(), answer(500), 'HTTP 500', null);
    expect(decision.nextDelayMs).toBeGreaterThanOrEqual(4000);
    expect(decision.nextDelayMs).toBeLessThanOrEqual(6000);
    expect(r.updated).toMatchObject([{ id: 'd-1', status: 'pending', attempts: 1, error: 'HTTP 500' }]);
    expect(r.disabled).toEqual([]);
  });

  it('ends the delivery once the schedule is spent', async () => {
    const r = recorder();
    const decision = await r.recorder.record(attempt(3), new Date(), answer(500), 'HTTP 500', null);
    expect(decision).toEqual({ nextDelayMs: null, why: 'all 3 attempts failed' });
    expect(r.updated).toMatchObject([{ status: 'failed', delay_ms: null }]);
    expect(r.published).toEqual(['message.attempt.exhausted']);
  });

  it('publishes no message.attempt.exhausted about an operational message', async () => {
    const r = recorder();
    await r.recorder.record(attempt(3, 'message.attempt.exhausted'), new Date(), answer(500), 'HTTP 500', null);
    expect(r.published).toEqual([]);
  });

  it('publishes message.attempt.recovered for a success after failures, not for a first success', async () => {
    const r = recorder();
    await r.recorder.record(attempt(1), new Date(), answer(200), null, null);
    expect(r.published).toEqual([]);
    await r.recorder.record(attempt(2), new Date(), answer(200), null, null);
    expect(r.published).toEqual(['message.attempt.recovered']);
  });

  it('disables an endpoint that answered 410, ends its delivery and publishes endpoint.disabled', async () => {
    const r = recorder();
    const decision = await r.recorder.record(attempt(1), new Date(), answer(410), 'HTTP 410', null);
    expect(decision).toEqual({ nextDelayMs: null, why: 'the endpoint answered 410 Gone and is disabled' });
    expect(r.disabled).toEqual(['e-1']);
    expect(r.published).toEqual(['endpoint.disabled']);
  });

  it('ends a 410 from an endpoint disabled already without disabling it again', async () => {
    const r = recorder('disabled');
    const decision = await r.recorder.record(attempt(1), new Date(), answer(410), 'HTTP 410', null);
    expect(decision.nextDelayMs).toBeNull();
    expect(r.disabled).toEqual([]);
  });

  it("hands each attempt's publisher mirror to the statement that records it, and only its own rows", async () => {
    const hooks = new OutboundHooks();
    const sql = 'UPDATE mirror_table SET n = n + 1 FROM mirrored m WHERE id = m.event_id';
    hooks.register('shop', { mirror: { mirrors: (ctx) => ctx.endpoint.kind === 'callback', sql } });
    const r = recorder('enabled', hooks);
    await r.recorder.record(attempt(1, 'order.paid', 'callback'), new Date(), answer(200), null, null);
    await r.recorder.record(attempt(1, 'order.paid', 'registered'), new Date(), answer(200), null, null);
    await r.recorder.record(attempt(1, 'order.paid', 'callback'), new Date(), answer(500), 'HTTP 500', null);
    expect(r.succeeded.map((row) => [row.event_id, row.mirror])).toEqual([
      ['evt_1', 'shop'],
      ['evt_1', null],
    ]);
    expect(r.updated).toMatchObject([{ event_id: 'evt_1', mirror: 'shop', status: 'pending' }]);
    expect(r.mirrorsGiven).toEqual([[{ owner: 'shop', sql }], [{ owner: 'shop', sql }], [{ owner: 'shop', sql }]]);
  });

  it('gives no mirror to a record when no publisher has one', async () => {
    const r = recorder();
    await r.recorder.record(attempt(1, 'order.paid', 'callback'), new Date(), answer(200), null, null);
    expect(r.succeeded).toMatchObject([{ mirror: null }]);
    expect(r.mirrorsGiven).toEqual([[]]);
  });
});
