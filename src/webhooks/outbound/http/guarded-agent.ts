import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';

import { TLS_HANDSHAKE_TIMEOUT } from '../../../common/tls/tls-failure.js';
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
  /** The CAs https targets are verified against (trustedCas); undefined: Node's default store. */
  ca?: string[];
}

/** TCP connected, but the TLS handshake did not finish within the connect timeout. */
export class TlsHandshakeTimeoutError extends Error {
  override readonly name = 'TlsHandshakeTimeoutError';
  readonly code = TLS_HANDSHAKE_TIMEOUT;

  constructor(
    readonly hostname: string,
    readonly timeoutMs: number,
  ) {
    super(`TLS handshake with ${hostname} did not finish within ${timeoutMs} ms`);
  }
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long a connect attempt runs alone before the name's next allowed address is
 * dialled beside it (RFC 8305's Connection Attempt Delay, as browsers and Node's
 * autoSelectFamily use): the first to connect wins, the others are closed
 * (docs/decisions/0011-happy-eyeballs-250ms.md).
 */
export const NEXT_ADDRESS_AFTER_MS = 250;

/** Connect failures after which another address of the same name may work; TLS and the like fail alike everywhere. */
const NETWORK_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether a failed connect to one address is worth trying the name's next address for. */
export function tryNextAddressAfter(err: unknown): boolean {
  return NETWORK_FAILURES.has((err as { code?: unknown } | null)?.code as string);
}

/** Every allowed address of a name failed to connect; `errors` in the order tried. */
export class AddressesUnreachableError extends Error {
  override readonly name = 'AddressesUnreachableError';
  /** The last address's code, so the failure reads like a single connect error's. */
  readonly code: string | undefined;

  constructor(
    readonly hostname: string,
    readonly errors: Error[],
  ) {
    super(`no address of ${hostname} could be connected to: ${errors.map((e) => e.message).join('; ')}`);
    this.code = (errors[errors.length - 1] as Error & { code?: string }).code;
  }
}

/**
 * An undici Agent that resolves each origin's hostname itself, checks every address
 * with the policy and connects only to allowed ones — the address checked is the
 * address connected to, so DNS rebinding after registration cannot bypass the check.
 * See createGuardedConnector for how the allowed addresses are tried. A refused target
 * fails the request with a RefusedAddressError (the rejection itself for
 * `request`/`dispatch`, the `cause` of fetch's "fetch failed").
 */
export function createGuardedAgent(policy: AddressPolicy, options: GuardedAgentOptions = {}): Agent {
  return new Agent({
    connect: createGuardedConnector(policy, options),
    ...(options.connections !== undefined && { connections: options.connections }),
    ...(options.keepAliveTimeoutMs !== undefined && { keepAliveTimeout: options.keepAliveTimeoutMs }),
  });
}

/**
 * The guarded agent's connect: resolves the name, keeps the addresses the policy allows
 * (in DNS order, IPv6 and IPv4 alike) and races them as Happy Eyeballs does. The first
 * is dialled at once; each next one when the attempts before it have all failed on the
 * network (refused, unreachable, timed out) or after NEXT_ADDRESS_AFTER_MS, whichever
 * comes first. The first socket to connect is the connection; one that connects later
 * is closed. A failure that another address would not change (TLS, say) ends the
 * connect at once; when every address fails, an AddressesUnreachableError names them.
 * `dial` (undici's connector by default) connects to one address; tests pass a fake.
 */
export function createGuardedConnector(
  policy: AddressPolicy,
  options: GuardedAgentOptions & { dial?: buildConnector.connector } = {},
): buildConnector.connector {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const lookup = options.lookup ?? systemLookup;
  const dial = options.dial ?? buildConnector({ timeout: timeoutMs, ...(options.ca && { ca: options.ca }) });

  return (connectOptions, callback) => {
    // undici hands IPv6 literals over without their brackets.
    const hostname = connectOptions.hostname;
    // SNI and certificate checks are for the name, never the IP we dialled.
    const servername = connectOptions.servername || (isIP(hostname) ? undefined : hostname);
    const race = (addresses: string[]): void => {
      let done = false;
      let next = 0;
      let running = 0;
      let timer: NodeJS.Timeout | undefined;
      const failures: Error[] = [];
      const finish = (...result: Parameters<buildConnector.Callback>): void => {
        done = true;
        clearTimeout(timer);
        callback(...result);
      };
      const fail = (err: Error): void =>
        finish(failures.length > 1 ? new AddressesUnreachableError(hostname, failures) : err, null);
      const start = (): void => {
        clearTimeout(timer);
        if (done || next >= addresses.length) return;
        const address = addresses[next++];
        running++;
        if (next < addresses.length) timer = setTimeout(start, NEXT_ADDRESS_AFTER_MS);
        // Whether TCP connected, to tell a handshake that stalls from a host that never answers
        // (docs/decisions/0804-handshake-timeout.md).
        let tcpConnected = false;
        try {
          const dialled: unknown = dial({ ...connectOptions, hostname: address, servername }, (dialErr, socket) => {
            running--;
            if (done) {
              socket?.destroy(); // a slower address connected after another won
              return;
            }
            if (dialErr === null) return finish(null, socket);
            const err =
              tcpConnected && connectOptions.protocol === 'https:' && isConnectTimeout(dialErr)
                ? new TlsHandshakeTimeoutError(hostname, timeoutMs)
                : dialErr;
            failures.push(err);
            if (!tryNextAddressAfter(err)) return fail(err);
            if (next < addresses.length) start();
            else if (running === 0) fail(err);
          });
          (dialled as { once?: (event: 'connect', listener: () => void) => unknown } | undefined)?.once?.(
            'connect',
            () => (tcpConnected = true),
          );
        } catch (err) {
          running--;
          failures.push(asError(err));
          fail(asError(err));
        }
      };
      start();
    };
    void resolveAllowedAddresses(hostname, policy, lookup, timeoutMs).then(race, (err: unknown) =>
      callback(asError(err), null),
    );
  };
}

/**
 * The addresses of `hostname` the policy allows, in the order DNS gave them; a
 * RefusedAddressError naming the first refused one when none is allowed. IP literals
 * are judged as they are: Node does not call a `lookup` for them, so the check cannot
 * live there.
 */
export async function resolveAllowedAddresses(
  hostname: string,
  policy: AddressPolicy,
  lookup: LookupFn = systemLookup,
  timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
): Promise<string[]> {
  const addresses = isIP(hostname)
    ? [hostname]
    : (await withTimeout(lookup(hostname), hostname, timeoutMs)).map((a) => a.address);
  const allowed: string[] = [];
  let firstRefusal: { address: string; reason: string } | undefined;
  for (const address of addresses) {
    const verdict = policy.check(address);
    if (verdict.allowed) allowed.push(address);
    else firstRefusal ??= { address, reason: verdict.reason };
  }
  if (allowed.length > 0) return allowed;
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

function isConnectTimeout(err: Error): boolean {
  return (err as Error & { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
