import type { PaymentAttention } from './payment-attention.js';
import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { EntityManager } from 'typeorm';
import type { OrdersService } from '../orders/orders.service.js';
import { PaymentsMetrics } from './payments-metrics.js';
import type { LockedPayment, NewTimelineEntry, PaymentsRepository, ResolvedPayment } from './payments.repository.js';
import { handlerResultOf, PspResultsService, type PspResult } from './psp-results.service.js';

const PAYMENT = '00000000-0000-4000-8000-00000000000a';
const ORDER = '00000000-0000-4000-8000-0000000000a0';

/** PspResultsService over a repository holding `payments`, recording what it writes. */
function serviceWith(payments: LockedPayment[]) {
  const writes: { entries: NewTimelineEntry[]; moved: ResolvedPayment[] }[] = [];
  const outcomes: { orderId: string; outcome: string }[][] = [];
  const repository: Partial<PaymentsRepository> = {
    lockForResults: (_manager, ids, pspIds) =>
      Promise.resolve(
        payments
          .filter((p) => ids.includes(p.id) || (p.psp_payment_id !== null && pspIds.includes(p.psp_payment_id)))
          .map((p) => ({ ...p })),
      ),
    writeTimeline: (_manager, entries, resolve) => {
      writes.push({ entries, moved: resolve?.moved ?? [] });
      return Promise.resolve();
    },
  };
  const orders: Partial<OrdersService> = {
    applyPaymentOutcomes: (_manager, list) => {
      outcomes.push(list);
      return Promise.resolve(list.map(() => ({ changed: true, from: 'pending_payment', to: 'paid' }) as const));
    },
  };
  const metrics = new PaymentsMetrics(new Registry());
  const attention = { publish: () => Promise.resolve() } as unknown as PaymentAttention;
  const service = new PspResultsService(repository as PaymentsRepository, orders as OrdersService, metrics, attention);
  return { service, writes, outcomes, metrics };
}

const processing: LockedPayment = {
  id: PAYMENT,
  order_id: ORDER,
  status: 'processing',
  amount: '1500',
  currency: 'EUR',
  psp_payment_id: 'pay_1',
};

function result(overrides: Partial<PspResult> = {}): PspResult {
  return {
    paymentId: PAYMENT,
    pspPaymentId: 'pay_1',
    pspStatus: 'completed',
    amount: 1500,
    currency: 'EUR',
    via: 'webhook',
    evidence: { eventId: 'evt_1' },
    arrivedAt: new Date(),
    ...overrides,
  };
}

// Not in a transaction: after-commit steps run at once.
const manager = {} as EntityManager;

describe('PspResultsService.applyPspResults', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('moves the payment and its order, writing the timeline in one statement', async () => {
    const { service, writes, outcomes, metrics } = serviceWith([processing]);
    expect(await service.applyPspResults(manager, [result()])).toEqual([{ applied: true, status: 'succeeded' }]);
    expect(outcomes).toEqual([[{ orderId: ORDER, outcome: 'succeeded' }]]);
    expect(writes).toHaveLength(1);
    expect(writes[0].entries.map((e) => e.type)).toEqual(['webhook_received', 'resolved', 'order_updated']);
    expect(writes[0].moved).toEqual([{ ...processing, status: 'succeeded', resolved_via: 'webhook' }]);
    expect((await metrics.resolved.get()).values).toEqual([
      { labels: { via: 'webhook', status: 'succeeded' }, value: 1 },
    ]);
  });

  it('applies a repeated result once and records the second as ignored', async () => {
    const { service, writes } = serviceWith([processing]);
    const outcomes = await service.applyPspResults(manager, [result(), result({ via: 'fallback_poll' })]);
    expect(outcomes).toEqual([
      { applied: true, status: 'succeeded' },
      { applied: false, reason: 'payment is already succeeded' },
    ]);
    expect(writes[0].entries.map((e) => e.type)).toEqual([
      'webhook_received',
      'resolved',
      'order_updated',
      'poll_result',
      'ignored',
    ]);
  });

  it('ignores a result whose amount differs, and moves nothing', async () => {
    const { service, writes, outcomes } = serviceWith([processing]);
    const [outcome] = await service.applyPspResults(manager, [result({ amount: 1 })]);
    expect(outcome).toEqual({ applied: false, reason: 'PSP reports 1 EUR, payment is 1500 EUR' });
    expect(outcomes).toEqual([]);
    expect(writes[0].moved).toEqual([]);
  });

  it('finds the payment by PSP payment id when the shop id is missing, and ignores an unknown one', async () => {
    const { service } = serviceWith([processing]);
    const outcomes = await service.applyPspResults(manager, [
      result({ paymentId: undefined, pspStatus: 'failed' }),
      result({ paymentId: undefined, pspPaymentId: 'pay_unknown' }),
    ]);
    expect(outcomes).toEqual([
      { applied: true, status: 'failed' },
      { applied: false, reason: 'no payment matches PSP payment pay_unknown' },
    ]);
  });
});

describe('handlerResultOf', () => {
  it('answers applied with the payment status, or ignored with the reason', () => {
    expect(handlerResultOf({ applied: true, status: 'succeeded' })).toEqual({
      outcome: 'applied',
      note: 'payment succeeded',
    });
    expect(handlerResultOf({ applied: false, reason: 'payment is final' })).toEqual({
      outcome: 'ignored',
      reason: 'payment is final',
    });
  });
});
