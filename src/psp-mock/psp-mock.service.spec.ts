import { Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import type { DirectSender } from '../webhooks/outbound/direct-sender.js';
import type { WebhookOutbox } from '../webhooks/outbound/webhook-outbox.js';
import type { ChaosService } from './chaos.service.js';
import type { ChaosSettings } from './dto/chaos.dto.js';
import type { PspEventsRepository } from './psp-events.repository.js';
import type { PspMetrics } from './psp-metrics.js';
import { PspMockService, type SettleJob } from './psp-mock.service.js';
import type { CreatedPspPayment, NewPspPayment, PspPaymentsRepository } from './psp-payments.repository.js';
import type { SettlementNotifier } from './settlement-notifier.js';

const KEY: RequestKey = { scope: 'psp:test', key: 'key-1', requestHash: 'hash-1', ttlHours: 24 };

/** The row `create` answers for `payment`: inserted, or (`as`) the one the key made first. */
function rowOf(payment: NewPspPayment, as?: Partial<CreatedPspPayment>): CreatedPspPayment {
  return {
    created: true,
    expired: false,
    id: payment.id,
    amount: String(payment.amount),
    currency: payment.currency,
    payment_method: payment.paymentMethod,
    callback_url: payment.callbackUrl,
    metadata: payment.metadata,
    created_at: new Date('2026-12-05T10:00:00Z'),
    requests_served: 1,
    event_format: payment.eventFormat,
    trace_context: null,
    idempotency_request_hash: KEY.requestHash,
    ...as,
  };
}

/**
 * PspMockService over a fake payments repository whose `create` answers `answers` in turn
 * (given the payment it was asked to insert), recording what it released, swept and queued.
 */
function serviceWith(answers: ((p: NewPspPayment) => CreatedPspPayment | undefined)[] = []) {
  const created: { id: string; key: RequestKey | null }[] = [];
  const released: string[] = [];
  const swept: [graceMs: number, limit: number][] = [];
  const jobs: { data: SettleJob; jobId: unknown; delay: unknown }[] = [];
  const payments: Partial<PspPaymentsRepository> = {
    create: (payment, key) => {
      created.push({ id: payment.id, key });
      return Promise.resolve(answers[created.length - 1]?.(payment));
    },
    releaseKey: (id) => {
      released.push(id);
      return Promise.resolve();
    },
    findOverdue: (graceMs, limit) => {
      swept.push([graceMs, limit]);
      return Promise.resolve(['pay_a', 'pay_b']);
    },
  };
  const settlements: Partial<Queue<SettleJob>> = {
    add: ((_name: string, data: SettleJob, opts: { jobId?: unknown; delay?: unknown }) => {
      jobs.push({ data, jobId: opts.jobId, delay: opts.delay });
      return Promise.resolve({});
    }) as Queue<SettleJob>['add'],
  };
  const chaos: Partial<ChaosService> = {
    get: () => Promise.resolve({ settleDelayMs: { min: 100, max: 2000 } } as ChaosSettings),
  };
  const metrics = { requests: { inc: () => undefined } } as unknown as PspMetrics;
  const service = new PspMockService(
    payments as PspPaymentsRepository,
    {} as PspEventsRepository,
    settlements as Queue<SettleJob>,
    {} as WebhookOutbox,
    chaos as ChaosService,
    {} as SettlementNotifier,
    metrics,
    {} as DirectSender,
  );
  return { service, created, released, swept, jobs };
}

describe('PspMockService', () => {
  beforeAll(() => Logger.overrideLogger(false));

  describe('createPayment with an Idempotency-Key', () => {
    it('frees a key whose first use expired and makes a new payment with it', async () => {
      const { service, created, released, jobs } = serviceWith([
        () => rowOf({ id: 'pay_old' } as NewPspPayment, { created: false, expired: true, id: 'pay_old' }),
        (p) => rowOf(p),
      ]);
      const { payment, repeatOf } = await service.createPayment({ amount: 500, currency: 'EUR' }, 'pay', KEY);
      expect(released).toEqual(['pay_old']);
      expect(created).toEqual([
        { id: payment.id, key: KEY },
        { id: payment.id, key: KEY },
      ]);
      expect(payment.id).not.toBe('pay_old');
      expect(repeatOf).toBeNull();
      expect(jobs.map((j) => [j.jobId, j.data.payment?.id])).toEqual([[payment.id, payment.id]]);
    });

    it("answers a live key's first payment, as first answered, and schedules nothing", async () => {
      const { service, released, jobs } = serviceWith([
        (p) =>
          rowOf(p, { created: false, id: 'pay_first', requests_served: 7, idempotency_request_hash: 'hash-first' }),
      ]);
      const { payment, repeatOf } = await service.createPayment({ amount: 500, currency: 'EUR' }, 'pay', KEY);
      expect(payment).toMatchObject({ id: 'pay_first', status: 'processing', settledAt: null, requestsServed: 1 });
      expect(repeatOf).toBe('hash-first');
      expect(released).toEqual([]);
      expect(jobs).toEqual([]);
    });

    it('gives up after three statements that neither made nor found a payment', async () => {
      const { service, created } = serviceWith();
      await expect(service.createPayment({ amount: 500, currency: 'EUR' }, 'pay', KEY)).rejects.toThrow(
        'Idempotency-Key key-1: no payment made nor found after 3 tries',
      );
      expect(created).toHaveLength(3);
    });
  });

  it('sweepUnsettled settles at once the payments processing past the longest settle delay and 30 s', async () => {
    const { service, swept, jobs } = serviceWith();
    expect(await service.sweepUnsettled()).toBe(2);
    expect(swept).toEqual([[2000 + 30_000, 500]]);
    expect(jobs).toEqual([
      { data: { pspPaymentId: 'pay_a' }, jobId: 'pay_a', delay: 0 },
      { data: { pspPaymentId: 'pay_b' }, jobId: 'pay_b', delay: 0 },
    ]);
  });
});
