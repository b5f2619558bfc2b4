import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets the app must keep (endpoint signing secrets) sealed at rest with AES-256-GCM.
 *
 * A sealed value is text: `v1.` + base64url(iv ‖ ciphertext ‖ tag) — a random 12-byte
 * IV, the ciphertext (as long as the secret) and the 16-byte tag. The key that sealed it
 * is named apart (a key id stored beside it, per row), so a keyring can hold the new key
 * and the old one while rows are sealed again. The additional authenticated data binds
 * the value to the format version, the key id and the caller's context (the endpoint id
 * and the column): a sealed value copied to another row, column or key id does not open.
 */

/** `<keyId>:<base64 of 32 bytes>`, comma-separated; the first seals, every one opens. */
export const SEALING_KEY_ID = /^[a-z0-9-]{1,32}$/;
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface SealingKey {
  id: string;
  key: Buffer;
}

/** A sealed value and the id of the key that sealed it. */
export interface Sealed {
  keyId: string;
  sealed: string;
}

/** Why a sealed value did not open; `code` is stable (logs, attempts' errors, problem+json). */
export class SealingError extends Error {
  constructor(
    readonly code: 'SEALED_SECRET.UNKNOWN_KEY' | 'SEALED_SECRET.MALFORMED' | 'SEALED_SECRET.UNREADABLE',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'SealingError';
  }
}

/**
 * What is wrong with a SEALING_KEYS value, or null when it is well formed. The answer
 * never repeats any part of the value (only entry positions).
 */
export function sealingKeysProblem(value: string): string | null {
  const entries = value.split(',').map((s) => s.trim());
  const seen = new Map<string, number>();
  for (const [i, entry] of entries.entries()) {
    const at = `entry ${i + 1} of ${entries.length}`;
    const colon = entry.indexOf(':');
    if (colon < 0) return `${at} is not <keyId>:<base64 key>`;
    const id = entry.slice(0, colon);
    const b64 = entry.slice(colon + 1);
    if (!SEALING_KEY_ID.test(id)) return `${at}: the key id must be 1-32 of a-z, 0-9 and "-"`;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || Buffer.from(b64, 'base64').toString('base64') !== b64) {
      return `${at}: the key is not base64`;
    }
    if (Buffer.from(b64, 'base64').length !== KEY_BYTES) {
      return `${at}: the key must be exactly ${KEY_BYTES} bytes (openssl rand -base64 32)`;
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) return `entries ${earlier + 1} and ${i + 1} have the same key id`;
    seen.set(id, i);
  }
  return null;
}

/** Parses a SEALING_KEYS value (throws without repeating it when malformed). */
export function parseSealingKeys(value: string): SealingKey[] {
  const problem = sealingKeysProblem(value);
  if (problem) throw new Error(`SEALING_KEYS: ${problem}`);
  return value.split(',').map((entry) => {
    const [id, b64] = entry.trim().split(':');
    return { id, key: Buffer.from(b64, 'base64') };
  });
}

/** Seals with the first key of its ring; opens with any of them. */
export class SecretSealer {
  private readonly keys: Map<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: readonly SealingKey[]) {
    if (keys.length === 0) throw new Error('A sealer needs at least one key');
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    if (this.keys.size !== keys.length) throw new Error('Sealing key ids must be unique');
    this.currentKeyId = keys[0].id;
  }

  static fromEnv(value: string): SecretSealer {
    return new SecretSealer(parseSealingKeys(value));
  }

  /** The key ids this ring opens, the sealing one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Seals `plaintext` under the current key; `context` (e.g. `<endpoint id>/secret`) must be given again to open it. */
  seal(plaintext: string, context: string): Sealed {
    const keyId = this.currentKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(keyId, context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    return { keyId, sealed };
  }

  /** Opens a value sealed under `keyId` for `context`; throws a SealingError otherwise (never with the value). */
  open(sealed: string, keyId: string, context: string): string {
    const key = this.keys.get(keyId);
    if (!key) throw new SealingError('SEALED_SECRET.UNKNOWN_KEY', `key id "${keyId}" is not in SEALING_KEYS`);
    const dot = sealed.indexOf('.');
    if (dot < 0 || sealed.slice(0, dot) !== VERSION || !/^[A-Za-z0-9_-]+$/.test(sealed.slice(dot + 1))) {
      throw new SealingError('SEALED_SECRET.MALFORMED', `not a ${VERSION} sealed value`);
    }
    const raw = Buffer.from(sealed.slice(dot + 1), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 1) throw new SealingError('SEALED_SECRET.MALFORMED', 'too short');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(keyId, context));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SealingError(
        'SEALED_SECRET.UNREADABLE',
        `key id "${keyId}" does not open it (another key under that id, or the value was changed or moved)`,
      );
    }
  }
}

const aad = (keyId: string, context: string) => Buffer.from(`hookline-sealed/${VERSION}/${keyId}/${context}`, 'utf8');
