import type { TimelineEntryRecord } from '../payments/payment-read-model.js';
import { paymentTraceLink } from './trace-link.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const accepted = (detail: Record<string, unknown>): TimelineEntryRecord[] => [
  { type: 'created', at: new Date(0), detail: {} },
  { type: 'psp_accepted', at: new Date(1), detail },
];

describe('paymentTraceLink', () => {
  it('fills the template with the trace id the psp_accepted entry kept', () => {
    expect(paymentTraceLink('http://localhost:16686/trace/{traceId}', accepted({ traceId: TRACE }))).toEqual({
      traceId: TRACE,
      url: `http://localhost:16686/trace/${TRACE}`,
    });
  });

  it('is null without a template, without a kept trace, or for anything but a trace id', () => {
    expect(paymentTraceLink(undefined, accepted({ traceId: TRACE }))).toBeNull();
    expect(paymentTraceLink('http://x/{traceId}', accepted({}))).toBeNull();
    expect(paymentTraceLink('http://x/{traceId}', accepted({ traceId: '"><script>' }))).toBeNull();
  });
});
