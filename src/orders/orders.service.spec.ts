import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { WebhookOutbox, PublishRequest } from '../webhooks/outbound/webhook-outbox.js';
import type { OrderStatus } from './order-status.js';
import type { LockedOrder, OrderMove, OrdersRepository } from './orders.repository.js';
import { OrdersService } from './orders.service.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

/** OrdersService over a repository holding `statuses`, recording what it locks, moves and publishes. */
function ordersWith(statuses: Record<string, OrderStatus>) {
  const locked: string[][] = [];
  const moves: OrderMove[][] = [];
  const published: PublishRequest[] = [];
  const repository: Partial<OrdersRepository> = {
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
    publishMany: (_manager, reqs) => {
      published.push(...reqs);
      return Promise.resolve([]);
    },
  };
  const service = new OrdersService(repository as OrdersRepository, outbox as WebhookOutbox);
  return { service, locked, moves, published };
}

const manager = {} as EntityManager;

describe('OrdersService.applyPaymentOutcomes', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('moves the orders in one statement and publishes one message each', async () => {
    const { service, locked, moves, published } = ordersWith({ [A]: 'pending_payment', [B]: 'pending_payment' });
    const results = await service.applyPaymentOutcomes(manager, [
      { orderId: A, outcome: 'succeeded' },
      { orderId: B, outcome: 'failed' },
    ]);
    expect(results).toEqual([
      { changed: true, from: 'pending_payment', to: 'paid' },
      { changed: true, from: 'pending_payment', to: 'payment_failed' },
    ]);
    expect(locked).toEqual([[A, B]]);
    expect(moves).toEqual([
      [
        { id: A, status: 'paid', paid: true },
        { id: B, status: 'payment_failed', paid: false },
      ],
    ]);
    expect(published.map((m) => [m.eventType, (m.payload.data as { order_id: string }).order_id])).toEqual([
      ['order.paid', A],
      ['order.payment_failed', B],
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
    const { service, moves, published } = ordersWith({ [A]: 'paid' });
    const [result] = await service.applyPaymentOutcomes(manager, [{ orderId: A, outcome: 'failed' }]);
    expect(result).toEqual({ changed: false, from: 'paid', reason: 'order is paid; it cannot become payment_failed' });
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
