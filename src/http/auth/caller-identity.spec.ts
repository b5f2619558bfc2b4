import { CallerIdentityResolver, callerIdOf, callerLabel, type CallerIdentity } from './caller-identity.js';

const SHOP = 'sk_shop_unit_0123456789abcdef';
const SHOP_2 = 'sk_shop_unit_second_0123456789';
const ADMIN = 'sk_admin_unit_0123456789abcdef';
const PSP = 'sk_psp_unit_0123456789abcdef';

const resolver = () => new CallerIdentityResolver({ shop: [SHOP, SHOP_2], admin: [ADMIN], psp: [PSP] });
const request = (authorization?: string, ip = '203.0.113.7') => ({ headers: { authorization }, ip });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('CallerIdentityResolver', () => {
  it('gives every spelling of one key the same identity: the id of the configured key', () => {
    const r = resolver();
    const spellings = [`Bearer ${SHOP}`, `bearer ${SHOP}`, `BEARER   ${SHOP}`, `Bearer\t${SHOP}`, `bEaReR \t ${SHOP}`];
    const identities = spellings.map((h) => r.resolve(request(h)));
    for (const identity of identities) {
      expect(identity).toEqual({ kind: 'key', id: callerIdOf(SHOP), realms: ['shop'], scheme: 'bearer' });
    }
    // From any address.
    expect(r.resolve(request(`Bearer ${SHOP}`, '198.51.100.1'))).toEqual(identities[0]);
  });

  it('takes the key from Basic (any user name) as the same caller, noting the scheme', () => {
    const r = resolver();
    for (const user of ['', 'ops', 'someone else']) {
      expect(r.resolve(request(basic(user, ADMIN)))).toEqual({
        kind: 'key',
        id: callerIdOf(ADMIN),
        realms: ['admin'],
        scheme: 'basic',
      });
    }
  });

  it('tells keys and realms apart', () => {
    const r = resolver();
    const ids = [SHOP, SHOP_2, ADMIN, PSP].map((k) => r.resolve(request(`Bearer ${k}`)));
    expect(new Set(ids.map((i) => (i.kind === 'key' ? i.id : null))).size).toBe(4);
    expect(ids.map((i) => (i.kind === 'key' ? i.realms : null))).toEqual([['shop'], ['shop'], ['admin'], ['psp']]);
  });

  it('lists every realm of a key configured in several', () => {
    const r = new CallerIdentityResolver({ shop: [SHOP], admin: [SHOP], psp: [PSP] });
    expect(r.resolve(request(`Bearer ${SHOP}`))).toMatchObject({ kind: 'key', realms: ['shop', 'admin'] });
  });

  it('makes a caller with no key, a malformed header or an unknown key anonymous, known by its address', () => {
    const r = resolver();
    const cases: [string | undefined, CallerIdentity['scheme']][] = [
      [undefined, null],
      ['', null],
      [SHOP, null], // no scheme
      [`Token ${SHOP}`, null],
      [`Bearer ${SHOP} extra`, null],
      [`Bearer ${SHOP}x`, 'bearer'],
      [`Bearer ${SHOP.slice(0, -1)}`, 'bearer'],
      [`Bearer ${SHOP.toUpperCase()}`, 'bearer'],
      ['Bearer sk_made_up_0123456789abcdef', 'bearer'],
      [basic('ops', ''), 'basic'],
      [basic('ops', 'wrong'), 'basic'],
      ['Basic !!!not-base64', 'basic'],
    ];
    for (const [header, scheme] of cases) {
      expect({ header, identity: r.resolve(request(header, '203.0.113.9')) }).toEqual({
        header,
        identity: { kind: 'anonymous', address: '203.0.113.9', scheme },
      });
    }
  });

  it('never takes an Authorization header sent as several values', () => {
    const r = resolver();
    const req = { headers: { authorization: [`Bearer ${SHOP}`, `Bearer ${ADMIN}`] }, ip: '203.0.113.9' };
    expect(r.resolve(req)).toEqual({ kind: 'anonymous', address: '203.0.113.9', scheme: null });
  });

  it('resolves a request once, whichever resolver asks', () => {
    const req = request(`Bearer ${SHOP}`);
    const first = resolver().resolve(req);
    // A resolver that knows no keys still answers what the request was resolved to.
    expect(new CallerIdentityResolver({ shop: [], admin: [], psp: [] }).resolve(req)).toBe(first);
  });

  it('never puts the key in the identity or its label', () => {
    const r = resolver();
    const identity = r.resolve(request(`Bearer ${SHOP}`));
    expect(JSON.stringify(identity)).not.toContain(SHOP);
    expect(callerLabel(identity)).toBe(`shop:${callerIdOf(SHOP)}`);
    expect(callerLabel(identity)).not.toContain(SHOP);
    expect(callerLabel(r.resolve(request('Bearer sk_made_up_0123456789abcdef')))).toBe('anonymous');
    expect(callerIdOf(SHOP)).toMatch(/^[0-9a-f]{16}$/);
  });
});
