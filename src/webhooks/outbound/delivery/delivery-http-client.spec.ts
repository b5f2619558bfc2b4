import { attemptDeadline, describeError, parseRetryAfter } from './delivery-http-client.js';
import { RefusedAddressError } from '../http/guarded-agent.js';

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

describe('attemptDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('aborts an attempt still running after its time, as a timeout', () => {
    const deadline = attemptDeadline(15_000);
    jest.advanceTimersByTime(14_999);
    expect(deadline.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect(describeError(deadline.signal.reason, 15_000)).toBe('timeout: no complete answer within 15000 ms');
  });

  it('leaves nothing armed once the attempt ended: no wake-up 15 s later', () => {
    const deadline = attemptDeadline(15_000);
    expect(jest.getTimerCount()).toBe(1);
    deadline.end();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(60_000);
    expect(deadline.signal.aborted).toBe(false);
  });
});
