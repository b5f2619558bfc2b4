/**
 * Every address block an outbound webhook refuses unless an allow-list names it, as
 * data: the rows of the IANA IPv4 and IPv6 Special-Purpose Address Registries (all of
 * them, the globally reachable ones too: a webhook has no business with an AS112 sink
 * or an anycast relay) and the blocks outside those registries that are just as
 * special (multicast, the IPv4-in-IPv6 forms the registries leave to other RFCs).
 * address-policy.ts judges addresses by these tables; its spec is built from them.
 *
 * Sources: https://www.iana.org/assignments/iana-ipv4-special-registry and
 * https://www.iana.org/assignments/iana-ipv6-special-registry (rows as of 2025).
 * A row added to a registry belongs here with its RFC.
 */

export type Family = 'ipv4' | 'ipv6';

/**
 * How the last bits of an IPv6 block carry an IPv4 address (for the refusal's wording:
 * an operator reads which IPv4 address the form would have reached).
 */
export type Ipv4Embedding = 'last32' | '6to4' | 'teredo';

export interface SpecialPurposeBlock {
  /** The block as the registry writes it (CIDR). */
  block: string;
  /** The registry's name of the block. */
  name: string;
  rfc: string;
  /** Completes "x is a … address" in a refusal; the most specific block's wins. */
  category: string;
  /** Where the row comes from. */
  source: 'iana-ipv4-special' | 'iana-ipv6-special' | 'other';
  embedsIpv4?: Ipv4Embedding;
}

const v4 = (block: string, name: string, rfc: string, category: string): SpecialPurposeBlock => ({
  block,
  name,
  rfc,
  category,
  source: 'iana-ipv4-special',
});
const v6 = (
  block: string,
  name: string,
  rfc: string,
  category: string,
  embedsIpv4?: Ipv4Embedding,
): SpecialPurposeBlock => ({
  block,
  name,
  rfc,
  category,
  source: 'iana-ipv6-special',
  ...(embedsIpv4 && { embedsIpv4 }),
});
const other = (
  block: string,
  name: string,
  rfc: string,
  category: string,
  embedsIpv4?: Ipv4Embedding,
): SpecialPurposeBlock => ({
  block,
  name,
  rfc,
  category,
  source: 'other',
  ...(embedsIpv4 && { embedsIpv4 }),
});

/** IANA IPv4 Special-Purpose Address Registry, every row. */
export const IPV4_SPECIAL_PURPOSE: readonly SpecialPurposeBlock[] = [
  v4('0.0.0.0/8', '"This network"', 'RFC 791, section 3.2', '"this network" (0.0.0.0/8)'),
  v4('0.0.0.0/32', '"This host on this network"', 'RFC 1122, section 3.2.1.3', 'unspecified'),
  v4('10.0.0.0/8', 'Private-Use', 'RFC 1918', 'private'),
  // 100.100.100.200 is Alibaba Cloud's metadata service.
  v4('100.64.0.0/10', 'Shared Address Space', 'RFC 6598', 'shared (CGNAT) / cloud metadata'),
  v4('127.0.0.0/8', 'Loopback', 'RFC 1122, section 3.2.1.3', 'loopback'),
  // 169.254.169.254 is the metadata service of AWS, GCP, Azure, OpenStack, …
  v4('169.254.0.0/16', 'Link Local', 'RFC 3927', 'link-local / cloud metadata'),
  v4('172.16.0.0/12', 'Private-Use', 'RFC 1918', 'private'),
  v4('192.0.0.0/24', 'IETF Protocol Assignments', 'RFC 6890, section 2.1', 'reserved (IETF protocol assignments)'),
  v4('192.0.0.0/29', 'IPv4 Service Continuity Prefix', 'RFC 7335', 'reserved (IPv4 service continuity)'),
  v4('192.0.0.8/32', 'IPv4 dummy address', 'RFC 7600', 'reserved (IPv4 dummy)'),
  v4('192.0.0.9/32', 'Port Control Protocol Anycast', 'RFC 7723', 'reserved (PCP anycast)'),
  v4('192.0.0.10/32', 'Traversal Using Relays around NAT Anycast', 'RFC 8155', 'reserved (TURN anycast)'),
  v4('192.0.0.170/32', 'NAT64/DNS64 Discovery', 'RFC 8880, RFC 7050 section 2.2', 'reserved (NAT64 discovery)'),
  v4('192.0.0.171/32', 'NAT64/DNS64 Discovery', 'RFC 8880, RFC 7050 section 2.2', 'reserved (NAT64 discovery)'),
  v4('192.0.2.0/24', 'Documentation (TEST-NET-1)', 'RFC 5737', 'documentation (TEST-NET)'),
  v4('192.31.196.0/24', 'AS112-v4', 'RFC 7535', 'AS112 (DNS sink)'),
  v4('192.52.193.0/24', 'AMT', 'RFC 7450', 'AMT (multicast tunnelling)'),
  v4('192.88.99.0/24', 'Deprecated (6to4 Relay Anycast)', 'RFC 7526', 'deprecated 6to4 relay anycast'),
  v4('192.88.99.2/32', '6a44-relay anycast address', 'RFC 6751', '6a44 relay anycast'),
  v4('192.168.0.0/16', 'Private-Use', 'RFC 1918', 'private'),
  v4('192.175.48.0/24', 'Direct Delegation AS112 Service', 'RFC 7534', 'AS112 (DNS sink)'),
  v4('198.18.0.0/15', 'Benchmarking', 'RFC 2544', 'benchmarking'),
  v4('198.51.100.0/24', 'Documentation (TEST-NET-2)', 'RFC 5737', 'documentation (TEST-NET)'),
  v4('203.0.113.0/24', 'Documentation (TEST-NET-3)', 'RFC 5737', 'documentation (TEST-NET)'),
  v4('240.0.0.0/4', 'Reserved', 'RFC 1112, section 4', 'reserved (240.0.0.0/4)'),
  v4('255.255.255.255/32', 'Limited Broadcast', 'RFC 8190, RFC 919 section 7', 'limited broadcast'),
];

/** IANA IPv6 Special-Purpose Address Registry, every row. */
export const IPV6_SPECIAL_PURPOSE: readonly SpecialPurposeBlock[] = [
  v6('::1/128', 'Loopback Address', 'RFC 4291', 'loopback'),
  v6('::/128', 'Unspecified Address', 'RFC 4291', 'unspecified'),
  v6('::ffff:0:0/96', 'IPv4-mapped Address', 'RFC 4291', 'IPv4-mapped', 'last32'),
  v6('64:ff9b::/96', 'IPv4-IPv6 Translat.', 'RFC 6052', 'NAT64 (well-known prefix)', 'last32'),
  // Local-use NAT64 (RFC 8215) lays the IPv4 address out by prefix length: not unpicked.
  v6('64:ff9b:1::/48', 'IPv4-IPv6 Translat.', 'RFC 8215', 'local-use NAT64'),
  v6('100::/64', 'Discard-Only Address Block', 'RFC 6666', 'discard-only'),
  v6('100:0:0:1::/64', 'Dummy IPv6 Prefix', 'RFC 9780', 'dummy'),
  v6('2001::/23', 'IETF Protocol Assignments', 'RFC 2928', 'reserved (IETF protocol assignments)'),
  v6('2001::/32', 'TEREDO', 'RFC 4380, RFC 8190', 'Teredo', 'teredo'),
  v6('2001:1::1/128', 'Port Control Protocol Anycast', 'RFC 7723', 'reserved (PCP anycast)'),
  v6('2001:1::2/128', 'Traversal Using Relays around NAT Anycast', 'RFC 8155', 'reserved (TURN anycast)'),
  v6('2001:1::3/128', 'DNS-SD Service Registration Protocol Anycast', 'RFC 9665', 'reserved (DNS-SD SRP anycast)'),
  v6('2001:2::/48', 'Benchmarking', 'RFC 5180, RFC Errata 1752', 'benchmarking'),
  v6('2001:3::/32', 'AMT', 'RFC 7450', 'AMT (multicast tunnelling)'),
  v6('2001:4:112::/48', 'AS112-v6', 'RFC 7535', 'AS112 (DNS sink)'),
  v6('2001:10::/28', 'Deprecated (previously ORCHID)', 'RFC 4843', 'deprecated ORCHID'),
  v6('2001:20::/28', 'ORCHIDv2', 'RFC 7343', 'ORCHIDv2'),
  v6('2001:30::/28', 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', 'RFC 9374', 'drone remote ID (DET)'),
  v6('2001:db8::/32', 'Documentation', 'RFC 3849', 'documentation'),
  v6('2002::/16', '6to4', 'RFC 3056', '6to4', '6to4'),
  v6('2620:4f:8000::/48', 'Direct Delegation AS112 Service', 'RFC 7534', 'AS112 (DNS sink)'),
  v6('3fff::/20', 'Documentation', 'RFC 9637', 'documentation'),
  v6('5f00::/16', 'Segment Routing (SRv6) SIDs', 'RFC 9602', 'SRv6 segment identifier'),
  // fd00:ec2::254 is the AWS metadata service over IPv6.
  v6('fc00::/7', 'Unique-Local', 'RFC 4193, RFC 8190', 'unique local (private) / cloud metadata'),
  v6('fe80::/10', 'Link-Local Unicast', 'RFC 4291', 'link-local'),
];

/** As special as the registries' rows, but registered elsewhere. */
export const OTHER_REFUSED: readonly SpecialPurposeBlock[] = [
  other('224.0.0.0/4', 'Multicast', 'RFC 5771', 'multicast'),
  other('ff00::/8', 'Multicast', 'RFC 4291', 'multicast'),
  // Deprecated IPv4-compatible addresses (::a.b.c.d); nothing legitimate uses them.
  other('::/96', 'IPv4-Compatible IPv6 Address (deprecated)', 'RFC 4291, section 2.5.5.1', 'IPv4-compatible', 'last32'),
  other('::ffff:0:0:0/96', 'IPv4-translated Address', 'RFC 2765, section 2.1', 'IPv4-translated', 'last32'),
  other('fec0::/10', 'Site-Local Unicast (deprecated)', 'RFC 3879', 'site-local (deprecated)'),
];

export const REFUSED_BLOCKS: readonly SpecialPurposeBlock[] = [
  ...IPV4_SPECIAL_PURPOSE,
  ...IPV6_SPECIAL_PURPOSE,
  ...OTHER_REFUSED,
];
