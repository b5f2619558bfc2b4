import type { TimelineEntryRecord } from '../payments/payment-read-model.js';

const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * The trace of a payment's creation and PSP call (kept in its psp_accepted timeline
 * entry when tracing was on) in the trace UI TRACE_UI_URL names (`{traceId}` replaced),
 * or null: no template, or no trace kept.
 */
export function paymentTraceLink(
  template: string | undefined,
  timeline: TimelineEntryRecord[],
): { traceId: string; url: string } | null {
  if (!template) return null;
  const traceId = timeline.find((e) => e.type === 'psp_accepted')?.detail.traceId;
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId)) return null;
  return { traceId, url: template.replaceAll('{traceId}', traceId) };
}
