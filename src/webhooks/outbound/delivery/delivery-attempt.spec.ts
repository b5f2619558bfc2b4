import type { DeliveriesRepository, LoadedDelivery } from '../deliveries.repository.js';
import { OutboundHooks } from '../outbound-hooks.js';
import { WebhookDelivery, WebhookEndpoint, WebhookMessage } from '../outbound.entities.js';
import { DeliveryAttempt } from './delivery-attempt.js';
import type { DeliveryHttpClient, HttpAnswer } from './delivery-http-client.js';
import { DeliveryDeferred } from './delivery-job.js';
import type { DeliveryRecorder, FailureDecision } from './delivery-recorder.js';
import type { DeliverySchedules } from './delivery-schedules.js';
import type { EndpointThrottle } from './endpoint-throttle.js';

function loaded(endpointStatus: WebhookEndpoint['status'] = 'enabled'): LoadedDelivery {
  const endpoint = Object.assign(new WebhookEndpoint(), {
    id: 'e-1',
    url: 'http://example.test/hook',
    status: endpointStatus,
    disabledReason: endpointStatus === 'disabled' ? 'answered 410 Gone' : null,
  });
  const message = Object.assign(new WebhookMessage(), { id: 'm-1', eventId: 'evt_1', eventType: 'order.paid' });
  return Object.assign(new WebhookDelivery(), {
    id: 'd-1',
    status: 'pending' as const,
    attempts: 0,
    message,
    endpoint,
    body: '{"type": "order.paid"}',
  });
}

const answer = (statusCode: number): HttpAnswer => ({
  statusCode,
  retryAfterMs: null,
  excerpt: null,
  error: null,
  durationMs: 2,
});

/** The attempt over fake parts: what it sent, what it failed, what it recorded. */
function setup(opts: { delivery?: LoadedDelivery; status?: number; record?: () => Promise<FailureDecision> } = {}) {
  const sent: string[] = [];
  const failed: string[] = [];
  const notes: (string | null)[] = [];
  const hooks = new OutboundHooks();
  const deliveries = {
    loadMany: (ids: string[]) => Promise.resolve(ids.map(() => opts.delivery ?? loaded())),
    failPending: (id: string, error: string) => Promise.resolve(void failed.push(`${id}: ${error}`)),
    exists: () => Promise.resolve(false),
  } as unknown as DeliveriesRepository;
  const throttle = {
    admit: () => Promise.resolve(() => undefined),
  } as unknown as EndpointThrottle;
  const http = {
    post: (_o: unknown, _e: unknown, _id: string, body: string, transform?: (b: string) => string) => {
      sent.push(transform ? transform(body) : body);
      return Promise.resolve(answer(opts.status ?? 200));
    },
  } as unknown as DeliveryHttpClient;
  const recorder = {
    record: (_c: unknown, _s: Date, _a: HttpAnswer, _f: string | null, note: string | null) => {
      notes.push(note);
      return opts.record ? opts.record() : Promise.resolve({ nextDelayMs: 300 });
    },
  } as unknown as DeliveryRecorder;
  const schedules = { for: () => ({ stepsMs: [1000] }) } as unknown as DeliverySchedules;
  const counter = { inc: () => undefined, observe: () => undefined };
  const metrics = { attempts: counter, attemptSeconds: counter, unrecorded: counter } as never;
  const attempt = new DeliveryAttempt(deliveries, throttle, http, recorder, schedules, hooks, metrics);
  return { attempt, hooks, sent, failed, notes };
}

describe('DeliveryAttempt', () => {
  it('fails the delivery of a disabled endpoint without sending it', async () => {
    const t = setup({ delivery: loaded('disabled') });
    await expect(t.attempt.run('shop', 'd-1')).resolves.toBe('endpoint disabled');
    expect(t.sent).toEqual([]);
    expect(t.failed).toEqual(['d-1: endpoint disabled: answered 410 Gone']);
  });

  it("applies a publisher's body transformation after signing and records its note", async () => {
    const t = setup({ status: 401 });
    t.hooks.register('psp', {
      beforeAttempt: () => Promise.resolve({ transformBody: { apply: (b) => `${b} `, note: 'changed' } }),
    });
    await expect(t.attempt.run('psp', 'd-1')).rejects.toBeInstanceOf(DeliveryDeferred);
    expect(t.sent).toEqual(['{"type": "order.paid"} ']);
    expect(t.notes).toEqual(['changed']);
  });

  it('sends a delivered message once more when afterAttempt asks for a resend', async () => {
    const t = setup();
    t.hooks.register('psp', { afterAttempt: () => Promise.resolve({ resend: { why: 'chaos duplicate' } }) });
    await expect(t.attempt.run('psp', 'd-1')).resolves.toBe('succeeded');
    expect(t.sent).toHaveLength(2);
  });

  it('ends quietly when the delivery was deleted while its outcome could not be recorded', async () => {
    const t = setup({ record: () => Promise.reject(new Error('violates foreign key constraint')) });
    await expect(t.attempt.run('shop', 'd-1')).resolves.toBe('gone');
  });
});
