import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';

import type { AddressPolicy } from './address-policy.js';

/** Resolves a hostname to every address it has (dns.lookup with `all: true`). */
export type LookupFn = (hostname: string) => Promise<LookupAddress[]>;

export const systemLookup: LookupFn = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

export class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
  readonly code = 'WEBHOOK_TARGET_REFUSED';

  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`refused to connect to ${hostname === address ? hostname : `${hostname} (${address})`}: ${reason}`);
  }
}

export class LookupTimeoutError extends Error {
  override readonly name = 'LookupTimeoutError';
  readonly code = 'WEBHOOK_LOOKUP_TIMEOUT';

  constructor(
    readonly hostname: string,
    readonly timeoutMs: number,
  ) {
    super(`DNS lookup of ${hostname} did not answer within ${timeoutMs} ms`);
  }
}

export interface GuardedAgentOptions {
  /** Sockets per origin (undici `connections`); unlimited when absent. */
  connections?: number;
  /** How long an idle keep-alive socket is kept (undici `keepAliveTimeout`). */
  keepAliveTimeoutMs?: number;
  /** Bounds the DNS lookup and, separately, the TCP/TLS connect. Default 10 s. */
  connectTimeoutMs?: number;
  lookup?: LookupFn;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * An undici Agent that resolves each origin's hostname itself, checks every address
 * with the policy and connects to the first allowed one — the address checked is the
 * address connected to, so DNS rebinding after registration cannot bypass the check.
 * A refused target fails the request with a RefusedAddressError (the rejection itself
 * for `request`/`dispatch`, the `cause` of fetch's "fetch failed").
 */
export function createGuardedAgent(policy: AddressPolicy, options: GuardedAgentOptions = {}): Agent {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const lookup = options.lookup ?? systemLookup;
  const connector = buildConnector({ timeout: timeoutMs });

  const connect: buildConnector.connector = (connectOptions, callback) => {
    // undici hands IPv6 literals over without their brackets.
    const hostname = connectOptions.hostname;
    void resolveAllowedAddress(hostname, policy, lookup, timeoutMs).then(
      (address) => {
        try {
          connector(
            {
              ...connectOptions,
              hostname: address,
              // SNI and certificate checks are for the name, never the IP we dialled.
              servername: connectOptions.servername || (isIP(hostname) ? undefined : hostname),
            },
            callback,
          );
        } catch (err) {
          callback(asError(err), null);
        }
      },
      (err: unknown) => callback(asError(err), null),
    );
  };

  return new Agent({
    connect,
    ...(options.connections !== undefined && { connections: options.connections }),
    ...(options.keepAliveTimeoutMs !== undefined && { keepAliveTimeout: options.keepAliveTimeoutMs }),
  });
}

/**
 * The first address of `hostname` the policy allows; a RefusedAddressError naming the
 * first refused one when none is allowed. IP literals are judged as they are: Node
 * does not call a `lookup` for them, so the check cannot live there.
 */
export async function resolveAllowedAddress(
  hostname: string,
  policy: AddressPolicy,
  lookup: LookupFn = systemLookup,
  timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
): Promise<string> {
  const addresses = isIP(hostname)
    ? [hostname]
    : (await withTimeout(lookup(hostname), hostname, timeoutMs)).map((a) => a.address);
  let firstRefusal: { address: string; reason: string } | undefined;
  for (const address of addresses) {
    const verdict = policy.check(address);
    if (verdict.allowed) return address;
    firstRefusal ??= { address, reason: verdict.reason };
  }
  if (!firstRefusal) throw new Error(`DNS lookup of ${hostname} returned no address`);
  throw new RefusedAddressError(hostname, firstRefusal.address, firstRefusal.reason);
}

export type EndpointUrlVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Registration-time check of a webhook URL. Refuses what can be told now: a scheme
 * other than http(s), credentials in the URL, an IP literal the policy refuses, or a
 * name that resolves only to refused addresses. A lookup that fails or is slow is not
 * a refusal — delivery checks again at connect time and fails with a clear error.
 */
export async function checkEndpointUrl(
  url: string,
  policy: AddressPolicy,
  lookup: LookupFn = systemLookup,
  timeoutMs = 2000,
): Promise<EndpointUrlVerdict> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, reason: `the scheme ${parsed.protocol.replace(/:$/, '')} is not allowed (http or https only)` };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { ok: false, reason: 'credentials in the URL (user:password@) are not allowed' };
  }

  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(hostname)) {
    const verdict = policy.check(hostname);
    return verdict.allowed ? { ok: true } : { ok: false, reason: verdict.reason };
  }

  let addresses: LookupAddress[];
  try {
    addresses = await withTimeout(lookup(hostname), hostname, timeoutMs);
  } catch {
    return { ok: true };
  }
  const verdicts = addresses.map((a) => policy.check(a.address));
  if (verdicts.some((v) => v.allowed)) return { ok: true };
  const refusal = verdicts.find((v) => !v.allowed);
  return refusal && !refusal.allowed
    ? { ok: false, reason: `${hostname} resolves only to refused addresses: ${refusal.reason}` }
    : { ok: true };
}

async function withTimeout<T>(promise: Promise<T>, hostname: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LookupTimeoutError(hostname, timeoutMs)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
