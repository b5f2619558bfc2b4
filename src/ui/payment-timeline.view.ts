import type { OrderItem } from '../orders/order.entity.js';
import type { PaymentStrategy, ResolvedVia } from '../payments/payment-status.js';
import type { PaymentTimelineEntry } from '../payments/payment-timeline-entry.entity.js';
import type { InboxEntry } from '../webhooks/inbound/inbox-entry.entity.js';
import type { PaymentPageData, PspEventRow } from './payment-page.reader.js';

/**
 * Turns a payment, its timeline, inbox rows and (optionally) the PSP's delivery
 * record into the steps the page draws: one per thing that happened, in time order,
 * each with its offset from the payment's creation, the time since the step before,
 * and its own duration where it has one (PSP call, poll, delivery, processing).
 * Pure: no I/O, no HTML — the renderer escapes and draws.
 */

export type Tone = 'neutral' | 'good' | 'bad' | 'warn' | 'info';
export type Side = 'shop' | 'psp';

export interface Fact {
  label: string;
  value: string;
  /** Identifiers and codes: drawn in a monospace face. */
  mono?: boolean;
}

export interface TimelineStep {
  /** Stable machine name of the step kind (CSS class, tests). */
  kind: string;
  title: string;
  at: Date | null;
  /** Milliseconds since the payment was created. */
  offsetMs: number | null;
  /** Milliseconds since the previous step on the page. */
  sincePrevMs: number | null;
  /** The step's own duration, when it has one, with what it measures. */
  took: { ms: number; what: string } | null;
  tone: Tone;
  side: Side;
  /** The step that decided the payment. */
  highlight: boolean;
  facts: Fact[];
}

export interface PaymentView {
  id: string;
  orderId: string;
  amount: string;
  amountMinor: number;
  currency: string;
  strategy: PaymentStrategy;
  paymentMethod: string;
  status: string;
  statusTone: Tone;
  pspPaymentId: string | null;
  resolvedVia: ResolvedVia | null;
  /** Human label of how the payment was resolved ("webhook", "fallback poll"…) or "unresolved". */
  resolvedLabel: string;
  failureReason: string | null;
  attentionReason: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
  /** Creation → resolution. */
  resolvedAfterMs: number | null;
  pollCount: number;
  order: { status: string; statusTone: Tone; items: OrderItem[]; paidAt: Date | null } | null;
  steps: TimelineStep[];
  /** Largest gap between two steps: scales the duration bars. */
  maxSincePrevMs: number;
  /** Whether the page should refresh itself (payment still processing). */
  live: boolean;
  notes: string[];
}

export const VIA_LABEL: Record<ResolvedVia, string> = {
  webhook: 'webhook',
  fallback_poll: 'fallback poll',
  short_poll: 'short poll',
  long_poll: 'long poll',
  reconciliation: 'reconciliation',
};

/** The poll kind of each strategy (as the polling service records it). */
const POLL_VIA: Record<PaymentStrategy, ResolvedVia> = {
  webhook: 'fallback_poll',
  short_polling: 'short_poll',
  long_polling: 'long_poll',
};

const PAYMENT_TONE: Record<string, Tone> = { processing: 'warn', succeeded: 'good', failed: 'bad' };
const ORDER_TONE: Record<string, Tone> = {
  pending_payment: 'warn',
  paid: 'good',
  payment_failed: 'bad',
  cancelled: 'neutral',
};

/** Amount in minor units → "34.48" with the currency's own number of decimals. */
export function formatAmount(amountMinor: number, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // Unknown to Intl: assume cents.
  }
  const negative = amountMinor < 0;
  const s = String(Math.abs(Math.trunc(amountMinor))).padStart(digits + 1, '0');
  const major = digits > 0 ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  return `${negative ? '-' : ''}${major}`;
}

/** "842 ms" below ten seconds, "12.4 s" above. */
export function formatMs(ms: number): string {
  return Math.abs(ms) < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const date = (v: unknown): Date | null => {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (typeof v !== 'string') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};
const between = (from: Date | null, to: Date | null): number | null =>
  from && to ? to.getTime() - from.getTime() : null;
const fact = (label: string, value: unknown, mono = false): Fact[] => {
  if (value === null || value === undefined || value === '') return [];
  const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : JSON.stringify(value);
  return [{ label, value: text, ...(mono ? { mono } : {}) }];
};

type Draft = Omit<TimelineStep, 'offsetMs' | 'sincePrevMs'>;

function step(d: Partial<Draft> & Pick<Draft, 'kind' | 'title' | 'at'>): Draft {
  return { took: null, tone: 'neutral', side: 'shop', highlight: false, facts: [], ...d };
}

/**
 * The steps of one inbound event: received, signature verified (stored in the inbox),
 * queued, processed by the worker. `entry` is the timeline entry the handler wrote, if
 * it got that far; the inbox row adds what happened after (processed_at, outcome).
 */
function eventSteps(
  entry: PaymentTimelineEntry | null,
  row: InboxEntry | undefined,
  resolvingEventId: string | null,
): Draft[] {
  const d = entry?.detail ?? {};
  const eventId = str(d.eventId) ?? row?.eventId ?? null;
  const eventType = str(d.eventType) ?? row?.eventType ?? null;
  const pulled = row?.receivedVia === 'reconciliation' || (entry?.type === 'poll_result' && !!eventId);
  const receivedAt = date(d.receivedAt) ?? row?.receivedAt ?? entry?.at ?? null;
  const verifiedAt = date(d.verifiedAt) ?? row?.verifiedAt ?? null;
  const queuedAt = row?.queuedAt ?? date(d.queuedAt);
  const pspCreatedAt = date(d.pspCreatedAt);
  const resolvedIt = !!eventId && eventId === resolvingEventId;
  const steps: Draft[] = [];

  steps.push(
    step({
      kind: pulled ? 'event-pulled' : 'webhook-received',
      title: pulled
        ? `Event pulled by reconciliation: ${eventType ?? 'event'}`
        : `Webhook received: ${eventType ?? 'event'}`,
      at: receivedAt,
      tone: resolvedIt ? 'good' : entry ? 'info' : 'warn',
      took:
        !pulled && pspCreatedAt && receivedAt ? { ms: between(pspCreatedAt, receivedAt)!, what: 'in flight' } : null,
      facts: [
        ...fact('event', eventId, true),
        ...fact('PSP status', str(d.pspStatus)),
        ...fact('PSP created the event at', pspCreatedAt),
        ...(resolvedIt ? fact('effect', 'this event resolved the payment') : []),
        ...(entry ? [] : fact('effect', 'not applied to the payment yet')),
      ],
    }),
  );
  if (verifiedAt && !pulled) {
    steps.push(
      step({
        kind: 'signature-verified',
        title: 'Signature verified, stored in the inbox',
        at: verifiedAt,
        tone: 'good',
        took: receivedAt ? { ms: between(receivedAt, verifiedAt)!, what: 'check' } : null,
        facts: [...fact('inbox row', row?.id ?? str(d.inboxId), true)],
      }),
    );
  }
  if (queuedAt) {
    steps.push(
      step({
        kind: 'queued',
        title: 'Queued for the inbox worker',
        at: queuedAt,
        took: { ms: between(verifiedAt ?? receivedAt, queuedAt) ?? 0, what: 'inbox write' },
        facts: pulled ? fact('inbox row', row?.id ?? str(d.inboxId), true) : [],
      }),
    );
  }
  if (row?.processedAt) {
    steps.push(
      step({
        kind: 'processed',
        title: `Processed by the inbox worker: ${row.status}`,
        at: row.processedAt,
        tone: row.status === 'processed' ? 'good' : 'warn',
        took: queuedAt ? { ms: between(queuedAt, row.processedAt)!, what: 'queue + processing' } : null,
        facts: [
          ...fact('outcome', row.outcome),
          ...fact('attempts', String(row.attempts)),
          ...fact('last error', row.lastError),
        ],
      }),
    );
  } else if (row) {
    steps.push(
      step({
        kind: 'processing-pending',
        title: 'Not processed yet',
        at: null,
        tone: 'warn',
        facts: [...fact('attempts', String(row.attempts)), ...fact('last error', row.lastError)],
      }),
    );
  }
  return steps;
}

/** The PSP's side of one event: created (the settlement) and its delivery to the shop. */
function pspSteps(e: PspEventRow): Draft[] {
  const steps: Draft[] = [];
  const delivery: Record<string, { text: string; tone: Tone }> = {
    none: { text: 'not sent: no callback URL (polling strategy)', tone: 'neutral' },
    pending: { text: 'pending: being delivered or waiting to retry', tone: 'warn' },
    delivered: { text: 'delivered (2xx from the shop)', tone: 'good' },
    failed: { text: 'failed: attempts exhausted', tone: 'bad' },
    dropped: { text: 'dropped by chaos: never sent', tone: 'warn' },
  };
  const status = delivery[e.deliveryStatus] ?? { text: e.deliveryStatus, tone: 'neutral' };
  steps.push(
    step({
      kind: 'psp-event',
      title: `PSP emitted ${e.type}`,
      at: e.createdAt,
      side: 'psp',
      tone: status.tone === 'good' ? 'info' : status.tone,
      facts: [
        ...fact('event', e.id, true),
        ...fact('delivery', status.text),
        ...fact('delivery attempts', String(e.deliveryAttempts)),
        ...fact('last delivery error', e.lastDeliveryError),
        ...fact('callback', e.callbackUrl, true),
      ],
    }),
  );
  if (e.deliveredAt) {
    steps.push(
      step({
        kind: 'psp-delivered',
        title: `PSP got a 2xx from the shop for ${e.type}`,
        at: e.deliveredAt,
        side: 'psp',
        tone: 'good',
        took: { ms: between(e.createdAt, e.deliveredAt)!, what: 'delivery' },
        facts: [
          ...fact('event', e.id, true),
          ...fact('attempt', `${e.deliveryAttempts} (${e.deliveryAttempts === 1 ? 'first try' : 'after retries'})`),
          ...fact('last error before success', e.lastDeliveryError),
        ],
      }),
    );
  }
  return steps;
}

export function buildPaymentView(data: PaymentPageData): PaymentView {
  const { payment, order, timeline, inbox, pspEvents } = data;
  const inboxById = new Map(inbox.map((r) => [r.id, r]));
  const usedInbox = new Set<string>();
  const resolved = timeline.find((e) => e.type === 'resolved');
  const resolvingEventId = str(resolved?.detail.eventId);
  const drafts: Draft[] = [];

  for (const e of timeline) {
    const d = e.detail;
    switch (e.type) {
      case 'created':
        drafts.push(
          step({
            kind: 'created',
            title: 'Payment created',
            at: e.at,
            facts: [
              ...fact('strategy', str(d.strategy) ?? payment.strategy),
              ...fact('card', payment.paymentMethod, true),
              ...fact('amount', `${formatAmount(payment.amount, payment.currency)} ${payment.currency}`),
            ],
          }),
        );
        break;
      case 'psp_accepted': {
        const latency = num(d.latencyMs);
        drafts.push(
          step({
            kind: 'psp-accepted',
            title: 'PSP accepted the payment',
            at: e.at,
            tone: 'info',
            took: latency === null ? null : { ms: latency, what: 'PSP call' },
            facts: [...fact('PSP payment', str(d.pspPaymentId), true), ...fact('PSP status', str(d.pspStatus))],
          }),
        );
        break;
      }
      case 'psp_error':
        drafts.push(
          step({
            kind: 'psp-error',
            title: 'PSP call failed',
            at: e.at,
            tone: 'bad',
            facts: [
              ...fact('code', str(d.code), true),
              ...fact('message', str(d.message)),
              ...fact('outcome', d.outcome),
            ],
          }),
        );
        break;
      case 'webhook_received':
      case 'poll_result': {
        const inboxId = str(d.inboxId);
        if (inboxId) {
          // An inbound event (webhook, or pulled by reconciliation into the inbox).
          usedInbox.add(inboxId);
          drafts.push(...eventSteps(e, inboxById.get(inboxId), resolvingEventId));
          break;
        }
        if (e.type === 'webhook_received') {
          drafts.push(...eventSteps(e, undefined, resolvingEventId));
          break;
        }
        const via = (str(d.via) as ResolvedVia | null) ?? POLL_VIA[payment.strategy];
        const found = str(d.found) ?? `final: ${str(d.pspStatus) ?? 'unknown'}`;
        const latency = num(d.latencyMs);
        const final = !str(d.found);
        drafts.push(
          step({
            kind: 'poll',
            title: `${VIA_LABEL[via] ?? via} #${num(d.poll) ?? '?'}: ${final ? 'final answer' : 'found nothing new'}`,
            at: e.at,
            tone: final ? 'good' : 'neutral',
            took: latency === null ? null : { ms: latency, what: via === 'long_poll' ? 'held request' : 'poll' },
            facts: [
              ...fact('found', found),
              ...fact('PSP status', str(d.pspStatus)),
              ...fact('PSP settled at', date(d.pspSettledAt)),
            ],
          }),
        );
        break;
      }
      case 'ignored':
        drafts.push(
          step({
            kind: 'ignored',
            title: 'Result ignored',
            at: e.at,
            tone: 'warn',
            facts: [...fact('reason', str(d.reason)), ...fact('event', str(d.eventId), true)],
          }),
        );
        break;
      case 'resolved': {
        const via = str(d.resolvedVia) as ResolvedVia | null;
        const status = str(d.status) ?? payment.status;
        drafts.push(
          step({
            kind: 'resolved',
            title: `Resolved: payment ${status} via ${via ? (VIA_LABEL[via] ?? via) : 'unknown'}`,
            at: e.at,
            tone: status === 'succeeded' ? 'good' : 'bad',
            highlight: true,
            facts: [
              ...fact('resolved via', via ?? ''),
              ...fact('event', str(d.eventId), true),
              ...fact('since creation', formatMs(e.at.getTime() - payment.createdAt.getTime())),
            ],
          }),
        );
        break;
      }
      case 'order_updated': {
        const to = str(d.to);
        drafts.push(
          step({
            kind: 'order-updated',
            title: to ? `Order turned ${to}` : 'Order unchanged',
            at: e.at,
            tone: to === 'paid' ? 'good' : to === 'payment_failed' ? 'bad' : 'warn',
            facts: to
              ? [...fact('order', str(d.orderId), true), ...fact('transition', `${str(d.from) ?? '?'} → ${to}`)]
              : [
                  ...fact('order', str(d.orderId), true),
                  ...fact('status', str(d.unchanged)),
                  ...fact('reason', str(d.reason)),
                ],
          }),
        );
        break;
      }
      default:
        drafts.push(step({ kind: 'other', title: String(e.type), at: e.at, facts: fact('detail', d) }));
    }
  }

  // Inbox rows about this payment that no timeline entry names yet (unprocessed, or
  // ignored by the handler before it reached the payment).
  for (const row of inbox) {
    if (!usedInbox.has(row.id)) drafts.push(...eventSteps(null, row, resolvingEventId));
  }
  for (const e of pspEvents ?? []) drafts.push(...pspSteps(e));

  // Time order; steps without a time (not happened yet) last; ties keep insertion order.
  const ordered = drafts
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const ta = a.d.at?.getTime() ?? Number.POSITIVE_INFINITY;
      const tb = b.d.at?.getTime() ?? Number.POSITIVE_INFINITY;
      return ta === tb ? a.i - b.i : ta - tb;
    })
    .map(({ d }) => d);
  const origin = payment.createdAt.getTime();
  let prev: number | null = null;
  const steps: TimelineStep[] = ordered.map((d) => {
    const t = d.at?.getTime() ?? null;
    const s: TimelineStep = {
      ...d,
      offsetMs: t === null ? null : t - origin,
      sincePrevMs: t === null || prev === null ? null : t - prev,
    };
    if (t !== null) prev = t;
    return s;
  });

  const notes: string[] = [];
  if (pspEvents === null) {
    notes.push(
      "The PSP's side (its events and webhook delivery attempts) is not shown: the PSP mock does not run in this process.",
    );
  }
  return {
    id: payment.id,
    orderId: payment.orderId,
    amount: formatAmount(payment.amount, payment.currency),
    amountMinor: payment.amount,
    currency: payment.currency,
    strategy: payment.strategy,
    paymentMethod: payment.paymentMethod,
    status: payment.status,
    statusTone: PAYMENT_TONE[payment.status] ?? 'neutral',
    pspPaymentId: payment.pspPaymentId,
    resolvedVia: payment.resolvedVia,
    resolvedLabel: payment.resolvedVia ? (VIA_LABEL[payment.resolvedVia] ?? payment.resolvedVia) : 'unresolved',
    failureReason: payment.failureReason,
    attentionReason: payment.attentionReason,
    createdAt: payment.createdAt,
    resolvedAt: payment.resolvedAt,
    resolvedAfterMs: between(payment.createdAt, payment.resolvedAt),
    pollCount: payment.pollCount,
    order: order
      ? {
          status: order.status,
          statusTone: ORDER_TONE[order.status] ?? 'neutral',
          items: order.items,
          paidAt: order.paidAt,
        }
      : null,
    steps,
    maxSincePrevMs: Math.max(1, ...steps.map((s) => s.sincePrevMs ?? 0)),
    live: payment.status === 'processing' && !payment.attentionReason,
    notes,
  };
}
