import { isIP } from 'node:net';
import {
  REFUSED_BLOCKS,
  type Family,
  type Ipv4Embedding,
  type SpecialPurposeBlock,
} from './special-purpose-addresses.js';

/** The allow-list of merchants' endpoints, named in their refusals. */
export const ALLOW_LIST_VARIABLE = 'WEBHOOK_ALLOWED_CIDRS';
/** The allow-list of the PSP mock's callback deliveries only. */
export const CALLBACK_ALLOW_LIST_VARIABLE = 'PSP_CALLBACK_ALLOWED_CIDRS';

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/** A CIDR as numbers: the network (host bits cleared) and its prefix length. */
interface Subnet {
  family: Family;
  network: bigint;
  prefix: number;
}

const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };

const REFUSED = REFUSED_BLOCKS.map((row) => {
  const parsed = parseCidr(row.block);
  if (typeof parsed === 'string') throw new Error(`invalid special-purpose block "${row.block}": ${parsed}`);
  return { row, subnet: subnetOf(parsed) };
});

/**
 * Parses an allow-list (WEBHOOK_ALLOWED_CIDRS, PSP_CALLBACK_ALLOWED_CIDRS):
 * comma-separated CIDRs or bare addresses (IPv4 or IPv6), whitespace tolerated; an
 * empty string or `none` is an empty list. Bare addresses become /32 or /128. Each bad
 * entry gets its own error naming it.
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
  const max = BITS[family];
  if (slash === -1) return { address, family, prefix: max };

  const prefixText = entry.slice(slash + 1).trim();
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
    return `prefix length must be a whole number from 0 to ${max} for ${family === 'ipv4' ? 'IPv4' : 'IPv6'}`;
  }
  return { address, family, prefix };
}

function subnetOf(cidr: { address: string; family: Family; prefix: number }): Subnet {
  return { family: cidr.family, network: mask(toBigInt(cidr.address, cidr.family), cidr), prefix: cidr.prefix };
}

function mask(value: bigint, { family, prefix }: { family: Family; prefix: number }): bigint {
  const hostBits = BigInt(BITS[family] - prefix);
  return (value >> hostBits) << hostBits;
}

function contains(subnet: Subnet, family: Family, value: bigint): boolean {
  return subnet.family === family && mask(value, { family, prefix: subnet.prefix }) === subnet.network;
}

/**
 * Decides whether an outbound webhook may connect to an IP address. Every block of the
 * IANA special-purpose registries, multicast and the IPv4-in-IPv6 forms (mapped,
 * translated, compatible, NAT64, 6to4, Teredo) is refused unless an allow-list entry
 * covers the address as written: an IPv4 entry never lets an IPv6 form through.
 * `variable` names the allow-list in refusals, so an operator knows where an exception
 * would go.
 */
export class AddressPolicy {
  private readonly allowed: Subnet[];

  constructor(
    allowedCidrs: string[],
    readonly variable: string = ALLOW_LIST_VARIABLE,
  ) {
    const { cidrs, errors } = parseCidrList(allowedCidrs.join(','));
    if (errors.length > 0) throw new Error(`${variable}: ${errors.join('; ')}`);
    this.allowed = cidrs.map((cidr) => {
      const parsed = parseCidr(cidr);
      if (typeof parsed === 'string') throw new Error(`${variable}: "${cidr}": ${parsed}`);
      return subnetOf(parsed);
    });
  }

  check(ip: string): AddressVerdict {
    const address = ip.replace(/%.*$/, ''); // a zone id says which interface, not where
    const version = isIP(address);
    if (version === 0) return { allowed: false, reason: `${ip} is not an IP address` };
    const family: Family = version === 4 ? 'ipv4' : 'ipv6';
    const value = toBigInt(address, family);
    if (this.allowed.some((subnet) => contains(subnet, family, value))) return { allowed: true };

    const block = mostSpecificBlock(family, value);
    if (!block) return { allowed: true };
    const embedded = block.embedsIpv4 ? embeddedIpv4(value, block.embedsIpv4) : null;
    const what = `${ip} is ${describe(block)}`;
    if (embedded === null) return { allowed: false, reason: `${what} (not in ${this.variable})` };
    const inner = mostSpecificBlock('ipv4', toBigInt(embedded, 'ipv4'));
    return {
      allowed: false,
      reason: `${what} embedding ${embedded}${inner ? `, ${describe(inner)}` : ''} (not in ${this.variable})`,
    };
  }
}

/** The refused block with the longest prefix that holds the address, if any. */
function mostSpecificBlock(family: Family, value: bigint): SpecialPurposeBlock | null {
  let best: { row: SpecialPurposeBlock; subnet: Subnet } | null = null;
  for (const candidate of REFUSED) {
    if (contains(candidate.subnet, family, value) && (!best || candidate.subnet.prefix > best.subnet.prefix)) {
      best = candidate;
    }
  }
  return best?.row ?? null;
}

function describe(block: SpecialPurposeBlock): string {
  return `${articleFor(block.category)} ${block.category} address`;
}

function articleFor(word: string): string {
  return /^[aeiou]/i.test(word) && !/^uni/i.test(word) ? 'an' : 'a';
}

/** The IPv4 address an IPv6 form carries (6to4: bits 16–47; Teredo: the client, last 32 bits inverted). */
function embeddedIpv4(value: bigint, embedding: Ipv4Embedding): string {
  const bits =
    embedding === '6to4'
      ? (value >> 80n) & 0xffffffffn
      : embedding === 'teredo'
        ? ~value & 0xffffffffn
        : value & 0xffffffffn;
  return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 0xffn)).join('.');
}

/** A valid IP address as a number (IPv4: 32 bits; IPv6: 128, dotted IPv4 tail and :: allowed). */
export function toBigInt(address: string, family: Family): bigint {
  if (family === 'ipv4') return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  return ipv6Groups(address).reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
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
