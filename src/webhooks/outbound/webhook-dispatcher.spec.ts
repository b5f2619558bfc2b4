import {
  DeliveryDeferred,
  describeError,
  engineBackoff,
  parseRetryAfter,
  tamperBody,
  unrecordedBackoffMs,
} from './webhook-dispatcher.js';
import { RefusedAddressError } from './http/guarded-agent.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-29T00:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 29 Nov 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter(['7'], now)).toBe(7000);
  });
  it('ignores what it cannot read, and a date in the past is now', () => {
    expect(parseRetryAfter('Sat, 28 Nov 2026 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
  });
  it('caps what a receiver asks at 14 days, the longest wait the engine stores', () => {
    const max = 14 * 86_400_000;
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(max);
    expect(parseRetryAfter('2592000', now)).toBe(max);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now)).toBe(max);
    expect(parseRetryAfter(String(14 * 86_400), now)).toBe(max);
  });
});

describe('unrecordedBackoffMs', () => {
  it('waits at least the schedule step, else 5 s doubled per unrecorded attempt in a row, up to 1 h', () => {
    expect([1, 2, 3, 4].map((n) => unrecordedBackoffMs(n, 1000))).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(unrecordedBackoffMs(1, 300_000)).toBe(300_000);
    expect(unrecordedBackoffMs(11, null)).toBe(3_600_000);
    expect(unrecordedBackoffMs(1_000_000, null)).toBe(3_600_000);
    expect(unrecordedBackoffMs(2, 7 * 86_400_000)).toBe(7 * 86_400_000);
  });
});

describe('engineBackoff', () => {
  it('waits what the engine decided, and 5 s after an unexpected error', () => {
    expect(engineBackoff(1, new DeliveryDeferred('x', 1234, true))).toBe(1234);
    expect(engineBackoff(1, new Error('database down'))).toBe(5000);
  });
});

describe('describeError', () => {
  it('names a timeout with the limit', () => {
    const err = Object.assign(new Error('Headers Timeout Error'), { name: 'HeadersTimeoutError' });
    expect(describeError(err, 1500)).toBe('timeout: no complete answer within 1500 ms');
    expect(describeError(new DOMException('aborted', 'TimeoutError'), 15000)).toMatch(/^timeout/);
  });
  it('passes an SSRF refusal through, also when wrapped', () => {
    const refused = new RefusedAddressError('internal.test', '10.0.0.1', '10.0.0.1 is a private address');
    expect(describeError(refused, 1)).toBe(refused.message);
    expect(describeError(new TypeError('fetch failed', { cause: refused }), 1)).toBe(refused.message);
  });
  it('keeps the code of a connection error', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(describeError(err, 1)).toBe('connect ECONNREFUSED 127.0.0.1:9');
    expect(describeError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 1)).toBe(
      'UND_ERR_SOCKET: other side closed',
    );
  });
});

describe('tamperBody', () => {
  it('changes exactly one byte and keeps the length', () => {
    const body = JSON.stringify({ event_id: 'evt_1', type: 'payment.completed' });
    const tampered = tamperBody(body);
    expect(tampered).not.toBe(body);
    expect(tampered.length).toBe(body.length);
    expect([...body].filter((c, i) => tampered[i] !== c)).toHaveLength(1);
  });
  it('does the same on PostgreSQL jsonb text (a space after each colon)', () => {
    const body = '{"type": "payment.completed", "event_id": "evt_1"}';
    const tampered = tamperBody(body);
    expect(tampered.length).toBe(body.length);
    expect([...body].filter((c, i) => tampered[i] !== c)).toHaveLength(1);
  });
});
