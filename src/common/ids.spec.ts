import { prefixedId, prefixedIdPattern } from './ids.js';

describe('prefixedId', () => {
  it('makes ids of the documented shape, all different across several pool refills', () => {
    const ids = Array.from({ length: 1000 }, () => prefixedId('evt'));
    expect(ids.every((id) => prefixedIdPattern('evt').test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(prefixedId('pay')).toMatch(prefixedIdPattern('pay'));
  });
});
