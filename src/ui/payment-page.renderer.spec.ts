import type { OrderRecord } from '../orders/order-read-model.js';
import type { PaymentRecord, TimelineEntryRecord } from '../payments/payment-read-model.js';
import type { InboxEventRecord } from '../webhooks/inbound/inbox-read-model.js';
import { formatAmount, formatMs } from './format.js';
import { escapeHtml, markup } from './html.js';
import type { PaymentPageData } from './payment-page.reader.js';
import { renderErrorPage } from './page-layout.js';
import { renderPaymentPage } from './payment-page.renderer.js';
import { buildPaymentView } from './payment-timeline.view.js';
import { presentedKey } from './ui-auth.guard.js';

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

describe('markup (escaping template tag)', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const out = markup`<p title="${XSS}">${XSS}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('<img');
    expect(out).toBe(`<p title="${escapeHtml(XSS)}">${escapeHtml(XSS)}</p>`);
    expect(escapeHtml(XSS)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;&#96;',
    );
  });

  it('passes fragments made by markup through, escapes lists element by element, drops null/undefined/false', () => {
    const items = ['<a>', markup`<b>${'<c>'}</b>`];
    expect(markup`<i>${items}${null}${undefined}${false}${0}</i>`.value).toBe('<i>&lt;a&gt;<b>&lt;c&gt;</b>0</i>');
  });
});

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

  it('escapes the message of an error page', () => {
    const page = renderErrorPage(404, 'Not found', `No payment with id ${XSS}.`);
    expect(page).toContain('404 · Not found');
    expect(page).not.toContain('<script>');
  });
});

describe('formatting', () => {
  it('formats minor units with the currency exponent, and milliseconds', () => {
    expect(formatAmount(2748, 'USD')).toBe('27.48');
    expect(formatAmount(5, 'EUR')).toBe('0.05');
    expect(formatAmount(500, 'JPY')).toBe('500');
    expect(formatAmount(1234, 'KWD')).toBe('1.234');
    expect(formatMs(842)).toBe('842 ms');
    expect(formatMs(12_400)).toBe('12.4 s');
  });
});

describe('presentedKey', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('reads a Bearer key or the password of Basic auth (any user), nothing else', () => {
    expect(presentedKey('Bearer sk_shop_abc')).toBe('sk_shop_abc');
    expect(presentedKey('bearer sk_shop_abc')).toBe('sk_shop_abc');
    expect(presentedKey(basic('ops:sk_shop_abc'))).toBe('sk_shop_abc');
    expect(presentedKey(basic(':sk_shop_abc'))).toBe('sk_shop_abc');
    expect(presentedKey(basic('ops:pa:ss'))).toBe('pa:ss');
    expect(presentedKey(basic('no-colon'))).toBeNull();
    expect(presentedKey('Basic !!!')).toBeNull();
    expect(presentedKey('Token abc')).toBeNull();
    expect(presentedKey(undefined)).toBeNull();
  });
});
