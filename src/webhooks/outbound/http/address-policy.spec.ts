import { AddressPolicy, parseCidrList } from './address-policy.js';

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

describe('AddressPolicy', () => {
  const strict = new AddressPolicy([]);

  it.each([
    ['0.0.0.0', '"this network" (0.0.0.0/8)'],
    ['0.1.2.3', '"this network" (0.0.0.0/8)'],
    ['10.0.0.5', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'shared (CGNAT) / cloud metadata'],
    ['100.100.100.200', 'shared (CGNAT) / cloud metadata'],
    ['100.127.255.255', 'shared (CGNAT) / cloud metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local / cloud metadata'],
    ['169.254.0.1', 'link-local / cloud metadata'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.170', 'reserved (IETF protocol assignments)'],
    ['192.0.2.1', 'documentation (TEST-NET)'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation (TEST-NET)'],
    ['203.0.113.9', 'documentation (TEST-NET)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved / broadcast'],
    ['255.255.255.255', 'reserved / broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::7f00:1', 'IPv4-compatible (deprecated)'],
    ['fc00::1', 'unique local (private) / cloud metadata'],
    ['fd00:ec2::254', 'unique local (private) / cloud metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local (deprecated)'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard-only'],
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
  ])('refuses %s as a %s address', (ip, category) => {
    const verdict = strict.check(ip);
    expect(verdict).toEqual({ allowed: false, reason: expect.stringContaining(`${category} address`) });
    expect(verdict).toEqual({ allowed: false, reason: expect.stringMatching(new RegExp(`^${escape(ip)} is an? `)) });
  });

  it('words the reason for an operator', () => {
    expect(strict.check('127.0.0.1')).toEqual({
      allowed: false,
      reason: '127.0.0.1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
    expect(strict.check('169.254.169.254')).toEqual({
      allowed: false,
      reason: '169.254.169.254 is a link-local / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
    expect(strict.check('10.0.0.5')).toEqual({
      allowed: false,
      reason: '10.0.0.5 is a private address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
    expect(strict.check('::')).toEqual({
      allowed: false,
      reason: ':: is an unspecified address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', '127.0.0.1', 'loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', '169.254.169.254', 'link-local / cloud metadata'],
    ['::FFFF:10.0.0.1', '10.0.0.1', 'private'],
  ])('judges the IPv4-mapped %s by %s', (ip, ipv4, category) => {
    expect(strict.check(ip)).toEqual({
      allowed: false,
      reason: `${ip} maps to ${ipv4}, a ${category} address (not in WEBHOOK_ALLOWED_CIDRS)`,
    });
  });

  it('judges well-known NAT64 addresses by the IPv4 address they embed', () => {
    expect(strict.check('64:ff9b::a9fe:a9fe')).toEqual({
      allowed: false,
      reason:
        '64:ff9b::a9fe:a9fe is NAT64 for 169.254.169.254, a link-local / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
    expect(strict.check('64:ff9b::127.0.0.1')).toMatchObject({ allowed: false });
    expect(strict.check('64:ff9b::808:808')).toEqual({ allowed: true });
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
    '::ffff:8.8.8.8',
  ])('allows the public address %s', (ip) => {
    expect(strict.check(ip)).toEqual({ allowed: true });
  });

  it('refuses what is not an IP address', () => {
    expect(strict.check('localhost')).toEqual({ allowed: false, reason: 'localhost is not an IP address' });
  });

  it('lets an allow-list entry override the refusal only for the addresses it covers', () => {
    const policy = new AddressPolicy(['127.0.0.0/8', '::1/128', '10.1.2.3/32', 'fd00:ec2::/32']);
    expect(policy.check('127.0.0.1')).toEqual({ allowed: true });
    expect(policy.check('127.4.5.6')).toEqual({ allowed: true });
    expect(policy.check('::1')).toEqual({ allowed: true });
    expect(policy.check('::ffff:127.0.0.1')).toEqual({ allowed: true });
    expect(policy.check('10.1.2.3')).toEqual({ allowed: true });
    expect(policy.check('fd00:ec2::254')).toEqual({ allowed: true });

    expect(policy.check('10.1.2.4')).toEqual({
      allowed: false,
      reason: '10.1.2.4 is a private address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
    expect(policy.check('169.254.169.254')).toMatchObject({ allowed: false });
    expect(policy.check('fd00::1')).toMatchObject({ allowed: false });
    expect(policy.check('::ffff:10.1.2.4')).toMatchObject({ allowed: false });
  });

  it('takes bare addresses in the allow-list as single hosts', () => {
    const policy = new AddressPolicy(['169.254.169.254']);
    expect(policy.check('169.254.169.254')).toEqual({ allowed: true });
    expect(policy.check('169.254.169.253')).toMatchObject({ allowed: false });
  });

  it('refuses to build from an invalid allow-list, naming the entry', () => {
    expect(() => new AddressPolicy(['127.0.0.0/8', 'localhost'])).toThrow(
      'WEBHOOK_ALLOWED_CIDRS: "localhost": not an IPv4 or IPv6 address',
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
