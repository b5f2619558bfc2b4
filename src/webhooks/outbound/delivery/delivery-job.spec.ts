import { DeliveryDeferred, engineBackoff, unrecordedBackoffMs } from './delivery-job.js';

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
