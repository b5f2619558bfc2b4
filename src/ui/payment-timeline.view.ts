import type { OrderItem } from '../orders/order-read-model.js';
import type { PaymentStrategy, ResolvedVia } from '../payments/payment-status.js';
import { formatAmount, VIA_LABEL } from './format.js';
import { inboundEventSteps } from './inbound-event-steps.js';
import type { PaymentPageData } from './payment-page.reader.js';
import { pspEventSteps } from './psp-event-steps.js';
import { timelineEntrySteps } from './timeline-entry-steps.js';
import { between, str, type StepDraft, type TimelineStep, type Tone } from './timeline-step.js';

/**
 * Turns a payment, its timeline, inbox rows and (optionally) the PSP's delivery
 * record into the steps the page draws: one per thing that happened, in time order,
 * each with its offset from the payment's creation, the time since the step before,
 * and its own duration where it has one (PSP call, poll, delivery, processing).
 * Pure: no I/O, no HTML — the renderer escapes and draws.
 */

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

const PAYMENT_TONE: Record<string, Tone> = { processing: 'warn', succeeded: 'good', failed: 'bad' };
const ORDER_TONE: Record<string, Tone> = {
  pending_payment: 'warn',
  paid: 'good',
  payment_failed: 'bad',
  cancelled: 'neutral',
};

export function buildPaymentView(data: PaymentPageData): PaymentView {
  const { payment, order, timeline, inbox, pspEvents } = data;
  const inboxById = new Map(inbox.map((r) => [r.id, r]));
  const resolved = timeline.find((e) => e.type === 'resolved');
  const resolvingEventId = str(resolved?.detail.eventId);
  const drafts: StepDraft[] = timeline.flatMap((e) => timelineEntrySteps(e, { payment, inboxById, resolvingEventId }));
  // The inbox rows the timeline's inbound events name (drawn with their entry).
  const named = new Set(
    timeline.filter((e) => e.type === 'webhook_received' || e.type === 'poll_result').map((e) => str(e.detail.inboxId)),
  );

  // Inbox rows about this payment that no timeline entry names yet (unprocessed, or
  // ignored by the handler before it reached the payment).
  for (const row of inbox) {
    if (!named.has(row.id)) drafts.push(...inboundEventSteps(null, row, resolvingEventId));
  }
  for (const e of pspEvents ?? []) drafts.push(...pspEventSteps(e));

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
