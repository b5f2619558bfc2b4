import type { OrderReadModel, OrderRecord } from '../orders/order-read-model.js';
import type { PaymentReadModel, PaymentRecord, TimelineEntryRecord } from '../payments/payment-read-model.js';
import type { PspEventReadModel, PspEventRecord } from '../psp-mock/psp-event-read-model.js';
import type { InboxReadModel } from '../webhooks/inbound/inbox-read-model.js';
import { PaymentPageReader } from './payment-page.reader.js';

const PAYMENT_ID = '11111111-1111-4111-8111-111111111111';
const INBOX_ID = '33333333-3333-4333-8333-333333333333';

function fakes(over: { pspPaymentId?: string | null } = {}) {
  const payment = {
    id: PAYMENT_ID,
    orderId: '22222222-2222-4222-8222-222222222222',
    pspPaymentId: over.pspPaymentId === undefined ? 'pay_1' : over.pspPaymentId,
  } as PaymentRecord;
  const order = { id: payment.orderId, status: 'paid', items: [], paidAt: null } as OrderRecord;
  const timeline = [
    { type: 'created', at: new Date(0), detail: {} },
    { type: 'webhook_received', at: new Date(1), detail: { inboxId: INBOX_ID } },
    { type: 'webhook_received', at: new Date(2), detail: { inboxId: 'not-a-uuid' } },
  ] as TimelineEntryRecord[];
  const pspEvent = { id: 'evt_1' } as PspEventRecord;
  const calls: unknown[][] = [];
  const payments = {
    payment: (id: string) => Promise.resolve(id === PAYMENT_ID ? payment : null),
    timeline: () => Promise.resolve(timeline),
  } as unknown as PaymentReadModel;
  const orders = { order: () => Promise.resolve(order) } as unknown as OrderReadModel;
  const inbox = {
    eventsAbout: (...args: unknown[]) => {
      calls.push(['eventsAbout', ...args]);
      return Promise.resolve([]);
    },
  } as unknown as InboxReadModel;
  const pspEvents = {
    eventsOfPayment: (...args: unknown[]) => {
      calls.push(['eventsOfPayment', ...args]);
      return Promise.resolve([pspEvent]);
    },
  } as unknown as PspEventReadModel;
  return { payments, orders, inbox, pspEvents, calls, payment, order, timeline, pspEvent };
}

describe('PaymentPageReader', () => {
  it('reads nothing for an id that is not a UUID, and null for an unknown payment', async () => {
    const f = fakes();
    const reader = new PaymentPageReader(f.payments, f.orders, f.inbox, f.pspEvents);
    await expect(reader.read('nope')).resolves.toBeNull();
    await expect(reader.read('44444444-4444-4444-8444-444444444444')).resolves.toBeNull();
    expect(f.calls).toEqual([]);
  });

  it("asks the inbox for the rows the timeline names (UUIDs only) and the PSP payment's events", async () => {
    const f = fakes();
    const reader = new PaymentPageReader(f.payments, f.orders, f.inbox, f.pspEvents);
    const data = await reader.read(PAYMENT_ID);
    expect(data).toEqual({
      payment: f.payment,
      order: f.order,
      timeline: f.timeline,
      inbox: [],
      pspEvents: [f.pspEvent],
    });
    expect(f.calls).toEqual([
      ['eventsAbout', [INBOX_ID], 'pay_1'],
      ['eventsOfPayment', 'pay_1'],
    ]);
  });

  it('leaves the PSP side out without the PSP read model, and empty before the PSP knows the payment', async () => {
    const without = fakes();
    const outside = new PaymentPageReader(without.payments, without.orders, without.inbox);
    expect((await outside.read(PAYMENT_ID))?.pspEvents).toBeNull();

    const unknown = fakes({ pspPaymentId: null });
    const inside = new PaymentPageReader(unknown.payments, unknown.orders, unknown.inbox, unknown.pspEvents);
    expect((await inside.read(PAYMENT_ID))?.pspEvents).toEqual([]);
    expect(unknown.calls).toEqual([['eventsAbout', [INBOX_ID], null]]);
  });
});
