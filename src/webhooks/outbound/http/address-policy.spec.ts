import { isIP } from 'node:net';
import { AddressPolicy, parseCidrList, toBigInt } from './address-policy.js';
import {
  IPV4_SPECIAL_PURPOSE,
  IPV6_SPECIAL_PURPOSE,
  OTHER_REFUSED,
  REFUSED_BLOCKS,
  type Family,
  type SpecialPurposeBlock,
} from './special-purpose-addresses.js';

describe('parseCidrList', () => {
  it('reads IPv4 and IPv6 CIDRs, bare addresses and stray whitespace', () => {
    expect(parseCidrList(' 127.0.0.0/8 , ::1/128,10.1.2.3,fd00::1 , 192.168.0.0 / 16')).toEqual({
      cidrs: ['127.0.0.0/8', '::1/128', '10.1.2.3/32', 'fd00::1/128', '192.168.0.0/16'],
      errors: [],
    });
  });

  it.each(['', '   ', 'none', 'NONE', ','])('reads %j as an empty list', (value) => {
    expect(parseCidrList(value)).toEqual({ cidrs: [], errors: [] });
  });

  it('names every bad entry and keeps the good ones', () => {
    const { cidrs, errors } = parseCidrList(
      '10.0.0.0/8,localhost,10.0.0.0/33,::1/129,1.2.3/24,10.0.0.0/x,10.0.0.0/-1,fe80::1%eth0,010.0.0.1',
    );
    expect(cidrs).toEqual(['10.0.0.0/8']);
    expect(errors).toEqual([
      '"localhost": not an IPv4 or IPv6 address',
      '"10.0.0.0/33": prefix length must be a whole number from 0 to 32 for IPv4',
      '"::1/129": prefix length must be a whole number from 0 to 128 for IPv6',
      '"1.2.3/24": not an IPv4 or IPv6 address',
      '"10.0.0.0/x": prefix length must be a whole number from 0 to 32 for IPv4',
      '"10.0.0.0/-1": prefix length must be a whole number from 0 to 32 for IPv4',
      '"fe80::1%eth0": not an IPv4 or IPv6 address',
      '"010.0.0.1": not an IPv4 or IPv6 address',
    ]);
  });
});

// ---- Built from the registries' tables: each row's edges, a public neighbour, its allow-list.

const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };

interface Range {
  row: SpecialPurposeBlock;
  family: Family;
  first: bigint;
  last: bigint;
}

function rangeOf(row: SpecialPurposeBlock): Range {
  const [address, prefixText] = row.block.split('/');
  const family: Family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const hostBits = BigInt(BITS[family] - Number(prefixText));
  const first = (toBigInt(address, family) >> hostBits) << hostBits;
  return { row, family, first, last: first + (1n << hostBits) - 1n };
}

function format(value: bigint, family: Family): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  return Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

const RANGES = REFUSED_BLOCKS.map(rangeOf);

/**
 * The nearest address outside the block (below it, else above it) that no refused
 * block holds: a block that borders another is walked past.
 */
function publicNeighbour(range: Range): string | null {
  const max = (1n << BigInt(BITS[range.family])) - 1n;
  const holder = (v: bigint) => RANGES.find((r) => r.family === range.family && r.first <= v && v <= r.last);
  for (const step of [-1n, 1n]) {
    let candidate = step < 0n ? range.first - 1n : range.last + 1n;
    for (;;) {
      if (candidate < 0n || candidate > max) break;
      const inside = holder(candidate);
      if (!inside) return format(candidate, range.family);
      candidate = step < 0n ? inside.first - 1n : inside.last + 1n;
    }
  }
  return null;
}

const edges = RANGES.flatMap((r) => [
  [r.row.block, 'first', format(r.first, r.family)],
  [r.row.block, 'last', format(r.last, r.family)],
]);

describe('AddressPolicy: the special-purpose tables', () => {
  const strict = new AddressPolicy([]);

  it('holds every row of both IANA registries and the extra blocks the policy must refuse', () => {
    const blocks = REFUSED_BLOCKS.map((r) => r.block);
    // Spot checks of rows that are globally reachable, recent, or IPv4-in-IPv6 forms.
    for (const block of [
      '192.88.99.0/24',
      '192.31.196.0/24',
      '192.175.48.0/24',
      '192.52.193.0/24',
      '255.255.255.255/32',
      '240.0.0.0/4',
      '224.0.0.0/4',
      '2001::/23',
      '2001::/32',
      '2001:4:112::/48',
      '2620:4f:8000::/48',
      '2001:20::/28',
      '2001:30::/28',
      '3fff::/20',
      '5f00::/16',
      '100:0:0:1::/64',
      '64:ff9b:1::/48',
      '64:ff9b::/96',
      '::ffff:0:0/96',
      '::ffff:0:0:0/96',
      '::/96',
      '2002::/16',
      'ff00::/8',
    ]) {
      expect(blocks).toContain(block);
    }
    expect(IPV4_SPECIAL_PURPOSE).toHaveLength(26);
    expect(IPV6_SPECIAL_PURPOSE).toHaveLength(25);
    expect(OTHER_REFUSED).toHaveLength(5);
    for (const row of REFUSED_BLOCKS) {
      expect(row.rfc).toMatch(/^RFC \d+/);
      expect(parseCidrList(row.block)).toEqual({ cidrs: [row.block], errors: [] });
    }
  });

  it.each(edges)('refuses %s: its %s address %s', (_block, _edge, ip) => {
    expect(strict.check(ip)).toEqual({
      allowed: false,
      reason: expect.stringMatching(/^\S+ is an? .+ address.* \(not in WEBHOOK_ALLOWED_CIDRS\)$/),
    });
  });

  it.each(RANGES.map((r) => [r.row.block, r] as const))('allows a public neighbour of %s', (_block, range) => {
    const neighbour = publicNeighbour(range);
    expect(neighbour).not.toBeNull();
    expect(strict.check(neighbour!)).toEqual({ allowed: true });
  });

  it.each(RANGES.map((r) => [r.row.block, r] as const))(
    'allows all of %s to an allow-list naming it, and nothing next to it',
    (block, range) => {
      const policy = new AddressPolicy([block], 'PSP_CALLBACK_ALLOWED_CIDRS');
      expect(policy.check(format(range.first, range.family))).toEqual({ allowed: true });
      expect(policy.check(format(range.last, range.family))).toEqual({ allowed: true });
      // Just outside, a neighbouring special block is still refused, naming this allow-list.
      const outside = [range.first - 1n, range.last + 1n]
        .filter((v) => v >= 0n && v < 1n << BigInt(BITS[range.family]))
        .map((v) => format(v, range.family))
        .filter((ip) => strict.check(ip).allowed === false);
      for (const ip of outside) {
        expect(policy.check(ip)).toEqual({
          allowed: false,
          reason: expect.stringContaining('(not in PSP_CALLBACK_ALLOWED_CIDRS)'),
        });
      }
    },
  );
});

describe('AddressPolicy: wording and IPv4 embedded in IPv6', () => {
  const strict = new AddressPolicy([]);

  it.each([
    ['127.0.0.1', '127.0.0.1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['169.254.169.254', '169.254.169.254 is a link-local / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['10.0.0.5', '10.0.0.5 is a private address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['100.100.100.200', '100.100.100.200 is a shared (CGNAT) / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['0.0.0.0', '0.0.0.0 is an unspecified address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['0.1.2.3', '0.1.2.3 is a "this network" (0.0.0.0/8) address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['192.0.0.9', '192.0.0.9 is a reserved (PCP anycast) address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['192.0.0.200', '192.0.0.200 is a reserved (IETF protocol assignments) address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['192.88.99.1', '192.88.99.1 is a deprecated 6to4 relay anycast address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['255.255.255.255', '255.255.255.255 is a limited broadcast address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['::', ':: is an unspecified address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['::1', '::1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['fe80::1%eth0', 'fe80::1%eth0 is a link-local address (not in WEBHOOK_ALLOWED_CIDRS)'],
    [
      'fd00:ec2::254',
      'fd00:ec2::254 is a unique local (private) / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)',
    ],
    ['2001:1::3', '2001:1::3 is a reserved (DNS-SD SRP anycast) address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['2001:4:112::1', '2001:4:112::1 is an AS112 (DNS sink) address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['3fff::1', '3fff::1 is a documentation address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['5f00::1', '5f00::1 is a SRv6 segment identifier address (not in WEBHOOK_ALLOWED_CIDRS)'],
  ])('words the refusal of %s for an operator', (ip, reason) => {
    expect(strict.check(ip)).toEqual({ allowed: false, reason });
  });

  it.each([
    ['::ffff:127.0.0.1', 'an IPv4-mapped', '127.0.0.1, a loopback address'],
    ['::ffff:7f00:1', 'an IPv4-mapped', '127.0.0.1, a loopback address'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'an IPv4-mapped', '169.254.169.254, a link-local / cloud metadata address'],
    ['::ffff:8.8.8.8', 'an IPv4-mapped', '8.8.8.8'],
    ['::ffff:0:7f00:1', 'an IPv4-translated', '127.0.0.1, a loopback address'],
    ['::ffff:0:808:808', 'an IPv4-translated', '8.8.8.8'],
    ['::7f00:1', 'an IPv4-compatible', '127.0.0.1, a loopback address'],
    ['64:ff9b::a9fe:a9fe', 'a NAT64 (well-known prefix)', '169.254.169.254, a link-local / cloud metadata address'],
    ['64:ff9b::808:808', 'a NAT64 (well-known prefix)', '8.8.8.8'],
    ['2002:7f00:1::', 'a 6to4', '127.0.0.1, a loopback address'],
    ['2002:a9fe:a9fe::1', 'a 6to4', '169.254.169.254, a link-local / cloud metadata address'],
    ['2002:808:808::', 'a 6to4', '8.8.8.8'],
    // Teredo: the client's IPv4 address is the last 32 bits, inverted (127.0.0.1 → 80ff:fffe).
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'a Teredo', '127.0.0.1, a loopback address'],
    ['2001::f7f7:f7f7', 'a Teredo', '8.8.8.8'],
  ])('refuses %s as %s address embedding %s, whatever that address is', (ip, what, embeds) => {
    expect(strict.check(ip)).toEqual({
      allowed: false,
      reason: `${ip} is ${what} address embedding ${embeds} (not in WEBHOOK_ALLOWED_CIDRS)`,
    });
  });

  it('does not let an IPv4 allow-list entry through an IPv6 form of the same address', () => {
    const policy = new AddressPolicy(['127.0.0.0/8', '8.8.8.8']);
    expect(policy.check('127.0.0.1')).toEqual({ allowed: true });
    for (const ip of ['::ffff:127.0.0.1', '::ffff:0:7f00:1', '::7f00:1', '64:ff9b::7f00:1', '2002:7f00:1::']) {
      expect(policy.check(ip)).toMatchObject({ allowed: false });
    }
    expect(policy.check('::ffff:8.8.8.8')).toMatchObject({ allowed: false });
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:81c::200e',
    '2001:200::1',
    '2003::1',
  ])('allows the public address %s', (ip) => {
    expect(strict.check(ip)).toEqual({ allowed: true });
  });

  it('refuses what is not an IP address', () => {
    expect(strict.check('localhost')).toEqual({ allowed: false, reason: 'localhost is not an IP address' });
  });

  it('lets an allow-list entry override the refusal only for the addresses it covers', () => {
    const policy = new AddressPolicy(['127.0.0.0/8', '::1/128', '10.1.2.3/32', 'fd00:ec2::/32', '::ffff:10.0.0.0/104']);
    expect(policy.check('127.0.0.1')).toEqual({ allowed: true });
    expect(policy.check('127.4.5.6')).toEqual({ allowed: true });
    expect(policy.check('::1')).toEqual({ allowed: true });
    expect(policy.check('10.1.2.3')).toEqual({ allowed: true });
    expect(policy.check('fd00:ec2::254')).toEqual({ allowed: true });
    expect(policy.check('::ffff:10.9.9.9')).toEqual({ allowed: true });

    expect(policy.check('10.1.2.4')).toEqual({
      allowed: false,
      reason: '10.1.2.4 is a private address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
    expect(policy.check('169.254.169.254')).toMatchObject({ allowed: false });
    expect(policy.check('fd00::1')).toMatchObject({ allowed: false });
    expect(policy.check('::ffff:11.0.0.1')).toMatchObject({ allowed: false });
  });

  it('takes bare addresses in the allow-list as single hosts and ignores host bits of a prefix', () => {
    const policy = new AddressPolicy(['169.254.169.254', '10.9.8.7/8']);
    expect(policy.check('169.254.169.254')).toEqual({ allowed: true });
    expect(policy.check('169.254.169.253')).toMatchObject({ allowed: false });
    expect(policy.check('10.0.0.1')).toEqual({ allowed: true });
  });

  it('names its own variable in refusals and in a bad allow-list', () => {
    expect(new AddressPolicy([], 'PSP_CALLBACK_ALLOWED_CIDRS').check('10.0.0.1')).toEqual({
      allowed: false,
      reason: '10.0.0.1 is a private address (not in PSP_CALLBACK_ALLOWED_CIDRS)',
    });
    expect(() => new AddressPolicy(['127.0.0.0/8', 'localhost'])).toThrow(
      'WEBHOOK_ALLOWED_CIDRS: "localhost": not an IPv4 or IPv6 address',
    );
    expect(() => new AddressPolicy(['10.0.0.0/33'], 'PSP_CALLBACK_ALLOWED_CIDRS')).toThrow(
      /^PSP_CALLBACK_ALLOWED_CIDRS: "10.0.0.0\/33"/,
    );
  });
});
