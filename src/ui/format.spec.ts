import { formatAmount, formatMs } from './format.js';

describe('formatting', () => {
  it('formats minor units with the currency exponent, and milliseconds', () => {
    expect(formatAmount(2748, 'USD')).toBe('27.48');
    expect(formatAmount(5, 'EUR')).toBe('0.05');
    expect(formatAmount(500, 'JPY')).toBe('500');
    expect(formatAmount(1234, 'KWD')).toBe('1.234');
    expect(formatMs(842)).toBe('842 ms');
    expect(formatMs(12_400)).toBe('12.4 s');
  });
});
