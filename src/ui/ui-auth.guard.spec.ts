import { presentedKey } from './ui-auth.guard.js';

describe('presentedKey', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('reads a Bearer key or the password of Basic auth (any user), nothing else', () => {
    expect(presentedKey('Bearer sk_shop_abc')).toBe('sk_shop_abc');
    expect(presentedKey('bearer sk_shop_abc')).toBe('sk_shop_abc');
    expect(presentedKey(basic('ops:sk_shop_abc'))).toBe('sk_shop_abc');
    expect(presentedKey(basic(':sk_shop_abc'))).toBe('sk_shop_abc');
    expect(presentedKey(basic('ops:pa:ss'))).toBe('pa:ss');
    expect(presentedKey(basic('no-colon'))).toBeNull();
    expect(presentedKey('Basic !!!')).toBeNull();
    expect(presentedKey('Token abc')).toBeNull();
    expect(presentedKey(undefined)).toBeNull();
  });
});
