import { formatDuration, parseDuration, parseDurationList } from './duration.js';

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
