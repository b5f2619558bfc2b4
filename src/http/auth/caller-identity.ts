import { createHash, timingSafeEqual } from 'node:crypto';
import { presentedCredential, type PresentedKey } from './presented-credential.js';

/** The three key realms: the shop's API, its admin API, and the PSP mock's own API. */
export type KeyRealm = 'shop' | 'admin' | 'psp';

/**
 * Who is calling. `key`: the request presented one of the configured keys (in any
 * spelling of the header); its `id` is a short hash of that configured key, the same
 * on every replica and in every log line. `anonymous`: no key, or one that matches
 * nothing — such callers are told apart only by their address.
 * `scheme` is how the credential was sent (null: no Bearer or Basic header at all).
 */
export type CallerIdentity =
  | { kind: 'key'; id: string; realms: readonly KeyRealm[]; scheme: PresentedKey['scheme'] }
  | { kind: 'anonymous'; address: string; scheme: PresentedKey['scheme'] | null };

/** What the resolver reads of a request (a Fastify request has both). */
export interface IdentifiableRequest {
  headers: { authorization?: string | string[] };
  ip: string;
}

interface ConfiguredKey {
  digest: Buffer;
  id: string;
  realm: KeyRealm;
}

/** The short, stable id of a configured key: what logs, throttle keys and idempotency scopes show. */
export function callerIdOf(key: string): string {
  return createHash('sha256').update(`hookline-caller:${key}`).digest('hex').slice(0, 16);
}

// One resolution per request, whichever of the throttler, the key guard, the
// idempotency interceptor or the access log asks first.
const resolved = new WeakMap<object, CallerIdentity>();

/**
 * Resolves a request to its caller: the presented key (Bearer, or Basic's password) is
 * compared in constant time with every configured key of every realm — all of them,
 * so the time taken tells nothing of which matched — and the match, not the header's
 * spelling, is the identity. The result is kept on the request.
 */
export class CallerIdentityResolver {
  private readonly keys: ConfiguredKey[];

  constructor(keysByRealm: Readonly<Record<KeyRealm, readonly string[]>>) {
    this.keys = (Object.keys(keysByRealm) as KeyRealm[]).flatMap((realm) =>
      keysByRealm[realm]
        .filter((key) => key !== '')
        .map((key) => ({ digest: sha256(key), id: callerIdOf(key), realm })),
    );
  }

  resolve(request: IdentifiableRequest): CallerIdentity {
    const known = resolved.get(request);
    if (known) return known;
    const identity = this.identify(request);
    resolved.set(request, identity);
    return identity;
  }

  private identify(request: IdentifiableRequest): CallerIdentity {
    const header = request.headers.authorization;
    const presented = presentedCredential(typeof header === 'string' ? header : undefined);
    const anonymous: CallerIdentity = { kind: 'anonymous', address: request.ip, scheme: presented?.scheme ?? null };
    if (!presented || presented.key === '') return anonymous;
    const digest = sha256(presented.key);
    let id: string | null = null;
    const realms: KeyRealm[] = [];
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.digest)) {
        id = key.id;
        realms.push(key.realm);
      }
    }
    return id === null ? anonymous : { kind: 'key', id, realms, scheme: presented.scheme };
  }
}

/** The caller as a log field: `shop:<id>` (realms joined by `+` when a key is in several), or `anonymous`. */
export function callerLabel(identity: CallerIdentity): string {
  return identity.kind === 'key' ? `${identity.realms.join('+')}:${identity.id}` : 'anonymous';
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
