import type { TimelineEntryRecord } from '../payments/payment-read-model.js';
import type { InboxEventRecord } from '../webhooks/inbound/inbox-read-model.js';
import { paymentTraceLinks } from './trace-link.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const RESULT = '4bf92f3577b34da6a3ce929d0e0e4736';
const accepted = (detail: Record<string, unknown>): TimelineEntryRecord[] => [
  { type: 'created', at: new Date(0), detail: {} },
  { type: 'psp_accepted', at: new Date(1), detail },
];
const inbox = (status: InboxEventRecord['status'], traceContext: string | null) =>
  [{ status, traceContext }] as InboxEventRecord[];

describe('paymentTraceLinks', () => {
  it('links the trace the psp_accepted entry kept, and the applied webhook’s', () => {
    expect(
      paymentTraceLinks(
        'http://localhost:16686/trace/{traceId}',
        accepted({ traceId: TRACE }),
        inbox('processed', `00-${RESULT}-00f067aa0ba902b7-01`),
      ),
    ).toEqual([
      { label: 'Trace', traceId: TRACE, url: `http://localhost:16686/trace/${TRACE}` },
      { label: 'Result trace', traceId: RESULT, url: `http://localhost:16686/trace/${RESULT}` },
    ]);
  });

  it('links nothing without a template, without a kept trace, or for anything but a trace id', () => {
    expect(paymentTraceLinks(undefined, accepted({ traceId: TRACE }))).toEqual([]);
    expect(paymentTraceLinks('http://x/{traceId}', accepted({}), inbox('processed', null))).toEqual([]);
    expect(paymentTraceLinks('http://x/{traceId}', accepted({ traceId: '"><script>' }))).toEqual([]);
    expect(
      paymentTraceLinks('http://x/{traceId}', accepted({}), inbox('received', `00-${RESULT}-00f067aa0ba902b7-01`)),
    ).toEqual([]);
  });
});
