import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { OutboxSource, WebhookOutbox, PublishRequest } from '../webhooks/outbound/webhook-outbox.js';
import type { OrderStatus } from './order-status.js';
import type { LockedOrder, OrderMove, OrdersRepository, OutcomeMove } from './orders.repository.js';
import { OrdersService } from './orders.service.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

/** OrdersService over a repository holding `statuses`, recording what it locks, moves and publishes. */
function ordersWith(statuses: Record<string, OrderStatus>) {
  const locked: string[][] = [];
  const moves: OrderMove[][] = [];
  const published: PublishRequest[] = [];
  /** What each one-statement apply moved and published, as the statement would (the allowed moves it was given). */
  const statements: { moved: OrderMove[]; published: string[] }[] = [];
  type FakeSource = OutboxSource & { moves: OutcomeMove[]; allowed: string[] };
  const repository: Partial<OrdersRepository> = {
    outcomesSource: (moves, _at, allowed) => ({ name: 'fake', ctes: '', params: [], moves, allowed }) as FakeSource,
    lockForOutcomes: (_manager, ids) => {
      locked.push(ids);
      return Promise.resolve(
        ids
          .filter((id) => id in statuses)
          .map((id): LockedOrder => ({ id, status: statuses[id], amount: '1500', currency: 'EUR' })),
      );
    },
    move: (_manager, rows) => {
      moves.push(rows);
      return Promise.resolve();
    },
  };
  const outbox: Partial<WebhookOutbox> = {
    publishWithin: (_manager, source) => {
      const { moves, allowed } = source as FakeSource;
      const found = moves.filter((m) => m.id in statuses);
      const moving = found.filter((m) => allowed.includes(`${statuses[m.id]}>${m.to}`));
      statements.push({
        moved: moving.map((m) => ({ id: m.id, status: m.to, paid: m.to === 'paid' })),
        published: moving.map((m) => `${m.eventType} ${m.id}`),
      });
      return Promise.resolve({ published: null, answer: found.map((m) => ({ ref: m.id, value: statuses[m.id] })) });
    },
    publishMany: (_manager, reqs) => {
      published.push(...reqs);
      return Promise.resolve([]);
    },
  };
  const service = new OrdersService(repository as OrdersRepository, outbox as WebhookOutbox);
  return { service, locked, moves, published, statements };
}

const manager = {} as EntityManager;

describe('OrdersService.applyPaymentOutcomes', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('locks, moves the orders and publishes one message each in one statement', async () => {
    const { service, locked, statements } = ordersWith({ [A]: 'pending_payment', [B]: 'pending_payment' });
    const results = await service.applyPaymentOutcomes(manager, [
      { orderId: A, outcome: 'succeeded' },
      { orderId: B, outcome: 'failed' },
    ]);
    expect(results).toEqual([
      { changed: true, from: 'pending_payment', to: 'paid' },
      { changed: true, from: 'pending_payment', to: 'payment_failed' },
    ]);
    expect(locked).toEqual([]);
    expect(statements).toEqual([
      {
        moved: [
          { id: A, status: 'paid', paid: true },
          { id: B, status: 'payment_failed', paid: false },
        ],
        published: [`order.paid ${A}`, `order.payment_failed ${B}`],
      },
    ]);
  });

  it('applies two outcomes for one order in turn: failed, then paid', async () => {
    const { service, locked, moves } = ordersWith({ [A]: 'pending_payment' });
    const results = await service.applyPaymentOutcomes(manager, [
      { orderId: A, outcome: 'failed' },
      { orderId: A, outcome: 'succeeded' },
    ]);
    expect(results.map((r) => r.changed && r.to)).toEqual(['payment_failed', 'paid']);
    expect(locked).toEqual([[A]]);
    expect(moves).toEqual([[{ id: A, status: 'paid', paid: true }]]);
  });

  it('never moves a paid order backwards, and writes nothing', async () => {
    const { service, moves, published, statements } = ordersWith({ [A]: 'paid' });
    const [result] = await service.applyPaymentOutcomes(manager, [{ orderId: A, outcome: 'failed' }]);
    expect(result).toEqual({ changed: false, from: 'paid', reason: 'order is paid; it cannot become payment_failed' });
    expect(statements).toEqual([{ moved: [], published: [] }]);
    expect(moves).toEqual([]);
    expect(published).toEqual([]);
  });

  it('refuses an outcome for an order that does not exist', async () => {
    const { service } = ordersWith({});
    await expect(service.applyPaymentOutcomes(manager, [{ orderId: A, outcome: 'succeeded' }])).rejects.toMatchObject({
      code: 'ORDER.NOT_FOUND',
    });
  });
});
