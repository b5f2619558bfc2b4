import { RetrySchedule, formatDuration, parseDuration, parseDurationList } from './retry-schedule.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['5d', 432_000_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 's', '1.5s', '-5s', '5 sec', '5w'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/not a duration/);
  });

  it.each([
    [2_592_000_000, '30d'],
    [7_200_000, '2h'],
    [90_000, '90s'],
    [1500, '1500ms'],
    [0, '0ms'],
  ])('%d ms is written %s, and read back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  it('reads a list with spaces', () => {
    expect(parseDurationList(' 5s, 5m ,30m')).toEqual([5000, 300_000, 1_800_000]);
  });
});

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
});
