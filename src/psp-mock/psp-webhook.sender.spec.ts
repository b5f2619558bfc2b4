import {
  MAX_RETRY_AFTER_MS,
  RetryAfterError,
  parseRetryAfter,
  retryAfterBackoff,
  tamperBody,
} from './psp-webhook.sender.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-29T00:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 29 Nov 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter(['7'], now)).toBe(7000);
  });
  it('clamps to 0..MAX_RETRY_AFTER_MS and ignores what it cannot read', () => {
    expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Sat, 28 Nov 2026 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
  });
});

describe('retryAfterBackoff', () => {
  it('is exponential like Bull, but never sooner than Retry-After', () => {
    expect(retryAfterBackoff(1, new Error('x'), { delay: 100 })).toBe(100);
    expect(retryAfterBackoff(3, new Error('x'), { delay: 100 })).toBe(700);
    expect(retryAfterBackoff(1, new RetryAfterError('x', 5000), { delay: 100 })).toBe(5000);
    expect(retryAfterBackoff(5, new RetryAfterError('x', 1000), { delay: 100 })).toBe(3100);
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
});
