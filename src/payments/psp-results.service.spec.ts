import type { PaymentAttention } from './payment-attention.js';
import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { EntityManager } from 'typeorm';
import type { OrdersService } from '../orders/orders.service.js';
import { PaymentsMetrics } from './payments-metrics.js';
import type { LockedPayment, NewTimelineEntry, PaymentsRepository, ResolvedPayment } from './payments.repository.js';
import { handlerResultOf, PspResultsService, type ApplyOutcome, type PspResult } from './psp-results.service.js';
import type { SqlPart } from '../common/db/sql-part.js';

const PAYMENT = '00000000-0000-4000-8000-00000000000a';
const ORDER = '00000000-0000-4000-8000-0000000000a0';

/** PspResultsService over a repository holding `payments`, recording what it writes. */
function serviceWith(payments: LockedPayment[]) {
  const writes: {
    entries: NewTimelineEntry[];
    moved: ResolvedPayment[];
    outcomeOf?: (string | null)[];
    also: SqlPart[];
  }[] = [];
  const outcomes: { orderId: string; outcome: string }[][] = [];
  const locks: string[][] = [];
  type TimelinePart = SqlPart & { write: (typeof writes)[number] };
  const repository: Partial<PaymentsRepository> = {
    lockForResults: (_manager, ids, pspIds) => {
      locks.push([...ids, ...pspIds]);
      return Promise.resolve(
        payments
          .filter((p) => ids.includes(p.id) || (p.psp_payment_id !== null && pspIds.includes(p.psp_payment_id)))
          .map((p) => ({ ...p })),
      );
    },
    writeTimeline: (_manager, entries, resolve, also = []) => {
      writes.push({ entries, moved: resolve?.moved ?? [], also: [...also] });
      return Promise.resolve();
    },
    resolveTimelinePart: (entries, outcomeOf, resolve) =>
      ({
        name: 'timeline',
        ctes: '',
        params: [],
        write: { entries, moved: resolve.moved, outcomeOf, also: [] },
      }) as TimelinePart,
  };
  const orders: Partial<OrdersService> = {
    inOneStatement: (list) => new Set(list.map((o) => o.orderId)).size === list.length,
    applyPaymentOutcomes: (_manager, list, also = []) => {
      outcomes.push(list);
      const [timeline, ...rest] = also as TimelinePart[];
      if (timeline) writes.push({ ...timeline.write, also: rest });
      return Promise.resolve(list.map(() => ({ changed: true, from: 'pending_payment', to: 'paid' }) as const));
    },
  };
  const metrics = new PaymentsMetrics(new Registry());
  const attention = { publish: () => Promise.resolve() } as unknown as PaymentAttention;
  const service = new PspResultsService(repository as PaymentsRepository, orders as OrdersService, metrics, attention);
  return { service, writes, outcomes, metrics, locks };
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

  it('moves the payment and its order, writing the timeline in the orders’ statement', async () => {
    const { service, writes, outcomes, metrics } = serviceWith([processing]);
    expect(await service.applyPspResults(manager, [result()])).toEqual([{ applied: true, status: 'succeeded' }]);
    expect(outcomes).toEqual([[{ orderId: ORDER, outcome: 'succeeded' }]]);
    expect(writes).toHaveLength(1);
    expect(writes[0].entries.map((e) => e.type)).toEqual(['webhook_received', 'resolved', 'order_updated']);
    // The order_updated detail comes from what the statement did to the order.
    expect(writes[0].outcomeOf).toEqual([null, null, ORDER]);
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

describe('PspResultsService.applyPspResults within the inbox’s transaction (decision 0033)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  const mark: SqlPart = { name: 'inbox_mark', ctes: 'inbox_mark AS (SELECT 1)', params: [] };

  it('takes the payments the inbox locked, and writes the caller’s last CTEs in the orders’ statement', async () => {
    const { service, writes, locks } = serviceWith([]);
    const given: ApplyOutcome[][] = [];
    const outcomes = await service.applyPspResults(manager, [result()], {
      locked: [processing],
      last: (o) => (given.push(o), mark),
    });
    expect(outcomes).toEqual([{ applied: true, status: 'succeeded' }]);
    expect(locks).toEqual([]);
    expect(given).toEqual([outcomes]);
    expect(writes).toHaveLength(1);
    expect(writes[0].also).toEqual([mark]);
    expect(writes[0].moved.map((p) => p.id)).toEqual([PAYMENT]);
  });

  it('an order with two outcomes moves in turn; the last CTEs go with the timeline', async () => {
    const other = { ...processing, id: '00000000-0000-4000-8000-00000000000b', psp_payment_id: 'pay_2' };
    const { service, writes, outcomes } = serviceWith([]);
    await service.applyPspResults(
      manager,
      [result(), result({ paymentId: other.id, pspPaymentId: 'pay_2', pspStatus: 'failed' })],
      { locked: [processing, other], last: () => mark },
    );
    expect(outcomes).toHaveLength(1);
    expect(writes).toHaveLength(1);
    expect(writes[0].outcomeOf).toBeUndefined();
    expect(writes[0].entries.filter((e) => e.type === 'order_updated').map((e) => e.detail)).toEqual([
      { orderId: ORDER, from: 'pending_payment', to: 'paid' },
      { orderId: ORDER, from: 'pending_payment', to: 'paid' },
    ]);
    expect(writes[0].also).toEqual([mark]);
  });

  it('asks for no last CTEs when it writes nothing (no payment matches)', async () => {
    const { service, writes } = serviceWith([]);
    let asked = false;
    const outcomes = await service.applyPspResults(manager, [result()], {
      locked: [],
      last: () => ((asked = true), mark),
    });
    expect(outcomes).toEqual([{ applied: false, reason: 'no payment matches PSP payment pay_1' }]);
    expect(asked).toBe(false);
    expect(writes.flatMap((w) => [...w.entries, ...w.also])).toEqual([]);
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
