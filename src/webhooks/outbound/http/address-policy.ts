import { BlockList, isIP } from 'node:net';

/** The variable named in refusals, so an operator knows where an exception would go. */
export const ALLOW_LIST_VARIABLE = 'WEBHOOK_ALLOWED_CIDRS';

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

type Family = 'ipv4' | 'ipv6';

interface RefusedRange {
  /** Completes "x is a … address". */
  category: string;
  family: Family;
  cidrs: string[];
}

// Order matters only for the wording: the first range that matches names the category.
const REFUSED_RANGES: RefusedRange[] = [
  { category: 'loopback', family: 'ipv4', cidrs: ['127.0.0.0/8'] },
  { category: '"this network" (0.0.0.0/8)', family: 'ipv4', cidrs: ['0.0.0.0/8'] },
  { category: 'private', family: 'ipv4', cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
  // 100.100.100.200 is Alibaba Cloud's metadata service.
  { category: 'shared (CGNAT) / cloud metadata', family: 'ipv4', cidrs: ['100.64.0.0/10'] },
  // 169.254.169.254 is the metadata service of AWS, GCP, Azure, OpenStack, …
  { category: 'link-local / cloud metadata', family: 'ipv4', cidrs: ['169.254.0.0/16'] },
  { category: 'reserved (IETF protocol assignments)', family: 'ipv4', cidrs: ['192.0.0.0/24'] },
  {
    category: 'documentation (TEST-NET)',
    family: 'ipv4',
    cidrs: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'],
  },
  { category: 'benchmarking', family: 'ipv4', cidrs: ['198.18.0.0/15'] },
  { category: 'multicast', family: 'ipv4', cidrs: ['224.0.0.0/4'] },
  { category: 'reserved / broadcast', family: 'ipv4', cidrs: ['240.0.0.0/4'] },

  { category: 'unspecified', family: 'ipv6', cidrs: ['::/128'] },
  { category: 'loopback', family: 'ipv6', cidrs: ['::1/128'] },
  // Deprecated IPv4-compatible addresses (::a.b.c.d); nothing legitimate uses them.
  { category: 'IPv4-compatible (deprecated)', family: 'ipv6', cidrs: ['::/96'] },
  // fd00:ec2::254 is the AWS metadata service over IPv6.
  { category: 'unique local (private) / cloud metadata', family: 'ipv6', cidrs: ['fc00::/7'] },
  { category: 'link-local', family: 'ipv6', cidrs: ['fe80::/10'] },
  { category: 'site-local (deprecated)', family: 'ipv6', cidrs: ['fec0::/10'] },
  { category: 'multicast', family: 'ipv6', cidrs: ['ff00::/8'] },
  { category: 'documentation', family: 'ipv6', cidrs: ['2001:db8::/32'] },
  { category: 'discard-only', family: 'ipv6', cidrs: ['100::/64'] },
  // Local-use NAT64 (RFC 8215) embeds the IPv4 address in a layout we do not unpick.
  { category: 'local-use NAT64', family: 'ipv6', cidrs: ['64:ff9b:1::/48'] },
];

const REFUSED = REFUSED_RANGES.map((range) => ({ category: range.category, list: blockListOf(range.cidrs) }));

// Prefixes whose last 32 bits are an IPv4 address that decides where the packet goes.
const IPV4_MAPPED = blockListOf(['::ffff:0:0/96']);
const NAT64_WELL_KNOWN = blockListOf(['64:ff9b::/96']);

/**
 * Parses WEBHOOK_ALLOWED_CIDRS: comma-separated CIDRs or bare addresses (IPv4 or IPv6),
 * whitespace tolerated; an empty string or `none` is an empty list. Bare addresses
 * become /32 or /128. Each bad entry gets its own error naming it.
 */
export function parseCidrList(value: string): { cidrs: string[]; errors: string[] } {
  const cidrs: string[] = [];
  const errors: string[] = [];
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'none') return { cidrs, errors };

  for (const raw of trimmed.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue; // a trailing or doubled comma says nothing
    const parsed = parseCidr(entry);
    if (typeof parsed === 'string') errors.push(`"${entry}": ${parsed}`);
    else cidrs.push(`${parsed.address}/${parsed.prefix}`);
  }
  return { cidrs, errors };
}

function parseCidr(entry: string): { address: string; family: Family; prefix: number } | string {
  const slash = entry.indexOf('/');
  const address = (slash === -1 ? entry : entry.slice(0, slash)).trim();
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return 'not an IPv4 or IPv6 address';
  const family: Family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (slash === -1) return { address, family, prefix: max };

  const prefixText = entry.slice(slash + 1).trim();
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
    return `prefix length must be a whole number from 0 to ${max} for ${family === 'ipv4' ? 'IPv4' : 'IPv6'}`;
  }
  return { address, family, prefix };
}

function blockListOf(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (typeof parsed === 'string') throw new Error(`invalid CIDR "${cidr}": ${parsed}`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}

/**
 * Decides whether an outbound webhook may connect to an IP address: loopback, private,
 * link-local, cloud-metadata and other special-purpose ranges are refused unless an
 * allow-list entry covers the address.
 */
export class AddressPolicy {
  private readonly allowed: BlockList;

  constructor(allowedCidrs: string[]) {
    const { cidrs, errors } = parseCidrList(allowedCidrs.join(','));
    if (errors.length > 0) throw new Error(`${ALLOW_LIST_VARIABLE}: ${errors.join('; ')}`);
    this.allowed = blockListOf(cidrs);
  }

  check(ip: string): AddressVerdict {
    const address = ip.replace(/%.*$/, ''); // a zone id says which interface, not where
    const version = isIP(address);
    if (version === 0) return { allowed: false, reason: `${ip} is not an IP address` };
    const family: Family = version === 4 ? 'ipv4' : 'ipv6';
    if (this.allowed.check(address, family)) return { allowed: true };

    if (family === 'ipv6') {
      const embedded = IPV4_MAPPED.check(address, 'ipv6')
        ? { ipv4: lastIpv4Of(address), via: 'maps to' }
        : NAT64_WELL_KNOWN.check(address, 'ipv6')
          ? { ipv4: lastIpv4Of(address), via: 'is NAT64 for' }
          : null;
      if (embedded) {
        const verdict = this.judge(embedded.ipv4, 'ipv4');
        if (verdict === null) return { allowed: true };
        return { allowed: false, reason: `${ip} ${embedded.via} ${embedded.ipv4}, ${verdict}` };
      }
    }

    const verdict = this.judge(address, family);
    return verdict === null ? { allowed: true } : { allowed: false, reason: `${ip} is ${verdict}` };
  }

  /** null when allowed, else "a loopback address (not in …)". */
  private judge(address: string, family: Family): string | null {
    if (this.allowed.check(address, family)) return null;
    const range = REFUSED.find((candidate) => candidate.list.check(address, family));
    if (!range) return null;
    return `${articleFor(range.category)} ${range.category} address (not in ${ALLOW_LIST_VARIABLE})`;
  }
}

function articleFor(word: string): string {
  return /^[aeiou]/i.test(word) && !/^uni/i.test(word) ? 'an' : 'a';
}

/** The IPv4 address in the last 32 bits of an IPv6 address (::ffff:7f00:1 → 127.0.0.1). */
function lastIpv4Of(ipv6: string): string {
  const groups = ipv6Groups(ipv6);
  const [high, low] = [groups[6], groups[7]];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The eight 16-bit groups of a valid IPv6 address (dotted IPv4 tail and :: allowed). */
function ipv6Groups(ipv6: string): number[] {
  let text = ipv6.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const toGroups = (part: string | undefined): number[] =>
    part ? part.split(':').map((group) => parseInt(group, 16)) : [];
  const headGroups = toGroups(head);
  const tailGroups = toGroups(tail);
  const zeros = new Array<number>(8 - headGroups.length - tailGroups.length).fill(0);
  return tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
}
