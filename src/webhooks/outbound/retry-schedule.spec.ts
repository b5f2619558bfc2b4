import { RetrySchedule } from './retry-schedule.js';

describe('RetrySchedule', () => {
  const svix = RetrySchedule.parse('5s,5m,30m,2h,5h,10h,10h');

  it('gives 8 attempts for the 7 steps of the default schedule', () => {
    expect(svix.maxAttempts).toBe(8);
    expect(svix.nextDelayMs(7, null, () => 0.5)).toBe(36_000_000);
    expect(svix.nextDelayMs(8)).toBeNull();
  });

  it('jitters each step by at most ±20 %', () => {
    expect(svix.nextDelayMs(1, null, () => 0)).toBe(4000);
    expect(svix.nextDelayMs(1, null, () => 0.999999)).toBe(6000);
    expect(svix.nextDelayMs(2, null, () => 0.5)).toBe(300_000);
  });

  it('honours Retry-After between the step and twice the step', () => {
    expect(svix.nextDelayMs(1, 7000)).toBe(7000);
    expect(svix.nextDelayMs(1, 1000)).toBe(5000);
    expect(svix.nextDelayMs(1, 3_600_000)).toBe(10_000);
  });

  it('builds an exponential schedule that honours Retry-After up to its own ceiling', () => {
    const psp = RetrySchedule.exponential(4, 1000, 600_000);
    expect(psp.stepsMs).toEqual([1000, 2000, 4000]);
    expect(RetrySchedule.exponential(1, 1000, 600_000).maxAttempts).toBe(1);
    expect(psp.nextDelayMs(1, 30_000)).toBe(30_000);
    expect(psp.nextDelayMs(1, 3_600_000)).toBe(600_000);
    expect(psp.nextDelayMs(2, 10)).toBe(2000);
  });

  it('never waits more than 14 days, the longest wait the engine stores, whatever the Retry-After', () => {
    const longest = RetrySchedule.parse('7d');
    expect(longest.nextDelayMs(1, Number.MAX_VALUE)).toBe(14 * 86_400_000);
    expect(longest.nextDelayMs(1, null, () => 0.999999)).toBeLessThanOrEqual(14 * 86_400_000);
    expect(new RetrySchedule([30 * 86_400_000]).nextDelayMs(1, null, () => 0.5)).toBe(14 * 86_400_000);
  });
});
