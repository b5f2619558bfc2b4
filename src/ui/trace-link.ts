import type { TimelineEntryRecord } from '../payments/payment-read-model.js';
import type { InboxEventRecord } from '../webhooks/inbound/inbox-read-model.js';

const TRACE_ID = /^[0-9a-f]{32}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

export interface TraceLink {
  label: string;
  traceId: string;
  url: string;
}

/**
 * A payment's traces in the trace UI TRACE_UI_URL names (`{traceId}` replaced): the
 * payment's own (its creation and PSP call, kept in its psp_accepted timeline entry) and
 * the result's (what the PSP's settlement caused: the trace of the webhook that was
 * applied). None without a template, or for a payment made with tracing off.
 */
export function paymentTraceLinks(
  template: string | undefined,
  timeline: TimelineEntryRecord[],
  inbox: InboxEventRecord[] = [],
): TraceLink[] {
  if (!template) return [];
  const links: TraceLink[] = [];
  const add = (label: string, traceId: unknown) => {
    if (typeof traceId !== 'string' || !TRACE_ID.test(traceId) || links.some((l) => l.traceId === traceId)) return;
    links.push({ label, traceId, url: template.replaceAll('{traceId}', traceId) });
  };
  add('Trace', timeline.find((e) => e.type === 'psp_accepted')?.detail.traceId);
  const applied = inbox.find((e) => e.status === 'processed' && e.traceContext);
  add('Result trace', applied?.traceContext && TRACEPARENT.exec(applied.traceContext)?.[1]);
  return links;
}
