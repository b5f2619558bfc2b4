import type { OrderRecord } from '../orders/order-read-model.js';
import type { PaymentRecord, TimelineEntryRecord } from '../payments/payment-read-model.js';
import type { InboxEventRecord } from '../webhooks/inbound/inbox-read-model.js';
import type { PaymentPageData } from './payment-page.reader.js';
import { renderPaymentPage } from './payment-page.renderer.js';
import { buildPaymentView } from './payment-timeline.view.js';

const XSS = `<script>alert("x")</script><img src=x onerror='alert(1)'>&\``;
const T0 = Date.parse('2026-11-28T12:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms);

function fixture(over: { item?: string; reason?: string; error?: string } = {}): PaymentPageData {
  const payment: PaymentRecord = {
    id: '11111111-1111-4111-8111-111111111111',
    orderId: '22222222-2222-4222-8222-222222222222',
    status: 'succeeded',
    strategy: 'webhook',
    paymentMethod: 'pm_card_ok',
    amount: 2748,
    currency: 'USD',
    pspPaymentId: 'pay_0123456789abcdef01234567',
    resolvedVia: 'webhook',
    failureReason: null,
    createdAt: at(0),
    resolvedAt: at(150),
    pollCount: 0,
    attentionReason: null,
  };
  const order: OrderRecord = {
    id: payment.orderId,
    status: 'paid',
    items: [{ sku: 'SKU-1', name: over.item ?? 'Mug', quantity: 2, unitAmount: 1374 }],
    paidAt: at(152),
  };
  const inboxId = '33333333-3333-4333-8333-333333333333';
  const entry = (type: string, ms: number, detail: Record<string, unknown>) =>
    ({ type, at: at(ms), detail }) as TimelineEntryRecord;
  const timeline = [
    entry('created', 0, { orderId: payment.orderId, strategy: 'webhook' }),
    entry('psp_accepted', 12, { pspPaymentId: payment.pspPaymentId, pspStatus: 'processing', latencyMs: 11 }),
    entry('webhook_received', 100, {
      eventId: 'evt_1',
      eventType: 'payment.completed',
      inboxId,
      pspCreatedAt: at(90).toISOString(),
      receivedAt: at(100).toISOString(),
      verifiedAt: at(102).toISOString(),
      queuedAt: at(105).toISOString(),
      pspStatus: 'completed',
    }),
    entry('resolved', 150, { status: 'succeeded', resolvedVia: 'webhook', eventId: 'evt_1' }),
    entry('order_updated', 152, { orderId: payment.orderId, from: 'pending_payment', to: 'paid' }),
    entry('ignored', 300, { reason: over.reason ?? 'payment is already succeeded', eventId: 'evt_2' }),
  ];
  const inbox: InboxEventRecord[] = [
    {
      id: inboxId,
      eventId: 'evt_1',
      eventType: 'payment.completed',
      status: 'processed',
      outcome: 'payment succeeded',
      receivedVia: 'webhook',
      receivedAt: at(100),
      verifiedAt: at(102),
      queuedAt: at(105),
      processedAt: at(155),
      attempts: 1,
      lastError: null,
    },
  ];
  const pspEvents = [
    {
      id: 'evt_1',
      type: 'payment.completed' as const,
      createdAt: at(90),
      callbackUrl: 'http://127.0.0.1:3000/webhooks/psp',
      deliveryStatus: 'delivered' as const,
      deliveryAttempts: 2,
      deliveredAt: at(110),
      lastDeliveryError: over.error ?? 'HTTP 503',
    },
  ];
  return { payment, order, timeline, inbox, pspEvents };
}

describe('buildPaymentView', () => {
  it('orders every step in time with offsets from creation and the gap since the previous step', () => {
    const view = buildPaymentView(fixture());
    const kinds = view.steps.map((s) => s.kind);
    expect(kinds).toEqual([
      'created',
      'psp-accepted',
      'psp-event',
      'webhook-received',
      'signature-verified',
      'queued',
      'psp-delivered',
      'resolved',
      'order-updated',
      'processed',
      'ignored',
    ]);
    expect(view.steps.map((s) => s.offsetMs)).toEqual([0, 12, 90, 100, 102, 105, 110, 150, 152, 155, 300]);
    expect(view.steps.map((s) => s.sincePrevMs)).toEqual([null, 12, 78, 10, 2, 3, 5, 40, 2, 3, 145]);
    expect(view.steps.find((s) => s.kind === 'psp-accepted')!.took).toEqual({ ms: 11, what: 'PSP call' });
    expect(view.steps.find((s) => s.kind === 'webhook-received')!.took).toEqual({ ms: 10, what: 'in flight' });
    const resolved = view.steps.filter((s) => s.highlight);
    expect(resolved.map((s) => s.kind)).toEqual(['resolved']);
    expect(view.resolvedLabel).toBe('webhook');
    expect(view.resolvedAfterMs).toBe(150);
    expect(view.live).toBe(false);
  });

  it('shows a poll that found nothing new and a final poll, and notes when the PSP side is not in this process', () => {
    const data = fixture();
    data.payment.resolvedVia = 'fallback_poll';
    data.timeline = [
      data.timeline[0],
      data.timeline[1],
      {
        ...data.timeline[1],
        type: 'poll_result',
        at: at(7100),
        detail: { poll: 1, latencyMs: 4, via: 'fallback_poll', pspStatus: 'processing', found: 'nothing new' },
      },
      {
        ...data.timeline[1],
        type: 'poll_result',
        at: at(8200),
        detail: { poll: 2, latencyMs: 5, pspSettledAt: at(900).toISOString(), pspStatus: 'completed' },
      },
    ];
    data.inbox = [];
    data.pspEvents = null;
    const view = buildPaymentView(data);
    expect(view.steps.map((s) => s.title)).toEqual([
      'Payment created',
      'PSP accepted the payment',
      'fallback poll #1: found nothing new',
      'fallback poll #2: final answer',
    ]);
    expect(view.resolvedLabel).toBe('fallback poll');
    expect(view.notes.join(' ')).toMatch(/PSP mock does not run in this process/);
  });
});

describe('renderPaymentPage', () => {
  it('links the payment’s trace when a trace UI is configured, and only then', () => {
    const trace = {
      label: 'Trace',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      url: 'http://localhost:16686/trace/0af7651916cd43dd8448eb211c80319c',
    };
    const linked = renderPaymentPage(buildPaymentView(fixture()), [trace]);
    expect(linked).toContain(
      '<dt>Trace</dt><dd><a id="trace-link-0" href="http://localhost:16686/trace/0af7651916cd43dd8448eb211c80319c" rel="noopener noreferrer">',
    );
    expect(renderPaymentPage(buildPaymentView(fixture()))).not.toContain('trace-link');
  });

  it('draws the header, the resolving badge and every step', () => {
    const page = renderPaymentPage(buildPaymentView(fixture()));
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('11111111-1111-4111-8111-111111111111');
    expect(page).toContain('27.48 USD');
    expect(page).toMatch(/class="badge via via-webhook"[^>]*><small>resolved via<\/small> webhook<\/span>/);
    for (const title of [
      'Payment created',
      'PSP accepted the payment',
      'PSP emitted payment.completed',
      'Webhook received: payment.completed',
      'Signature verified, stored in the inbox',
      'Queued for the inbox worker',
      'Resolved: payment succeeded via webhook',
      'Order turned paid',
      'Processed by the inbox worker: processed',
      'Result ignored',
    ]) {
      expect(page).toContain(title);
    }
    expect(page).toContain('+150 ms');
    expect(page).toContain('PSP call 11 ms');
    expect(page).not.toContain('http-equiv="refresh"');
  });

  it('escapes user- and PSP-controlled text (item names, reasons, delivery errors)', () => {
    const page = renderPaymentPage(buildPaymentView(fixture({ item: XSS, reason: XSS, error: XSS })));
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page.match(/&lt;script&gt;/g)!.length).toBeGreaterThanOrEqual(3);
  });

  it('refreshes itself while the payment is processing', () => {
    const data = fixture();
    data.payment.status = 'processing';
    data.payment.resolvedVia = null;
    const page = renderPaymentPage(buildPaymentView(data));
    expect(page).toContain('<meta http-equiv="refresh" content="2">');
    expect(page).toMatch(/class="badge via via-unresolved"[^>]*>not resolved yet</);
  });
});
