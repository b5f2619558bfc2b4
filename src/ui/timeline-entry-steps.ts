import type { PaymentRecord, TimelineEntryRecord } from '../payments/payment-read-model.js';
import type { PaymentStrategy, ResolvedVia } from '../payments/payment-status.js';
import type { InboxEventRecord } from '../webhooks/inbound/inbox-read-model.js';
import { formatAmount, formatMs, VIA_LABEL } from './format.js';
import { inboundEventSteps } from './inbound-event-steps.js';
import { date, fact, num, step, str, type StepDraft } from './timeline-step.js';

/** The poll kind of each strategy (as the polling service records it). */
const POLL_VIA: Record<PaymentStrategy, ResolvedVia> = {
  webhook: 'fallback_poll',
  short_polling: 'short_poll',
  long_polling: 'long_poll',
  thin_webhook: 'webhook_fetch',
};

/** What the steps of one timeline entry are drawn from besides the entry itself. */
export interface TimelineContext {
  payment: PaymentRecord;
  /** The inbox rows the timeline names, by id. */
  inboxById: Map<string, InboxEventRecord>;
  /** The PSP event that resolved the payment, if one did. */
  resolvingEventId: string | null;
}

/**
 * The steps of one entry of the payment's timeline: creation, the PSP call, an inbound
 * event (with its inbox row), a poll, an ignored result, the resolution, the order update.
 */
export function timelineEntrySteps(e: TimelineEntryRecord, ctx: TimelineContext): StepDraft[] {
  const { payment, inboxById, resolvingEventId } = ctx;
  const d = e.detail;
  switch (e.type) {
    case 'created':
      return [
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
      ];
    case 'psp_accepted': {
      const latency = num(d.latencyMs);
      return [
        step({
          kind: 'psp-accepted',
          title: 'PSP accepted the payment',
          at: e.at,
          tone: 'info',
          took: latency === null ? null : { ms: latency, what: 'PSP call' },
          facts: [...fact('PSP payment', str(d.pspPaymentId), true), ...fact('PSP status', str(d.pspStatus))],
        }),
      ];
    }
    case 'psp_error':
      return [
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
      ];
    case 'webhook_received':
    case 'poll_result': {
      const inboxId = str(d.inboxId);
      if (inboxId) {
        // An inbound event (webhook, or pulled by reconciliation into the inbox).
        return inboundEventSteps(e, inboxById.get(inboxId), resolvingEventId);
      }
      if (e.type === 'webhook_received') {
        return inboundEventSteps(e, undefined, resolvingEventId);
      }
      const via = (str(d.via) as ResolvedVia | null) ?? POLL_VIA[payment.strategy];
      const found = str(d.found) ?? `final: ${str(d.pspStatus) ?? 'unknown'}`;
      const latency = num(d.latencyMs);
      const final = !str(d.found);
      return [
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
      ];
    }
    case 'ignored':
      return [
        step({
          kind: 'ignored',
          title: 'Result ignored',
          at: e.at,
          tone: 'warn',
          facts: [...fact('reason', str(d.reason)), ...fact('event', str(d.eventId), true)],
        }),
      ];
    case 'resolved': {
      const via = str(d.resolvedVia) as ResolvedVia | null;
      const status = str(d.status) ?? payment.status;
      return [
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
      ];
    }
    case 'order_updated': {
      const to = str(d.to);
      return [
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
      ];
    }
    default:
      return [step({ kind: 'other', title: String(e.type), at: e.at, facts: fact('detail', d) })];
  }
}
