import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash } from 'node:crypto';
import type { AllConfig } from '../../config/env.js';
import type { CallerIdentity } from '../auth/caller-identity.js';
import type { IdempotencyKey } from './idempotency-key.entity.js';
import { IdempotencyKeysRepository, type IdempotencyAnswer } from './idempotency-keys.repository.js';
import { IDEMPOTENCY_LOCK_TIMEOUT_MS } from './lock-timeout.js';

export interface ClaimRequest {
  scope: string;
  key: string;
  method: string;
  path: string;
  body: unknown;
}

export type Claim =
  | { kind: 'new'; id: string }
  | { kind: 'replay'; row: IdempotencyKey }
  | { kind: 'in_flight' }
  | { kind: 'mismatch'; row: IdempotencyKey };

@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger('Idempotency');
  private readonly ttlHours: number;

  constructor(
    private readonly keys: IdempotencyKeysRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.ttlHours = config.get('IDEMPOTENCY_TTL_H', { infer: true });
  }

  /**
   * Whose Idempotency-Keys these are: the caller's key id (a hash of the configured key,
   * the same for every spelling of the header), or for a caller without a key a hash of
   * its address. Neither a key nor an address is stored.
   */
  static scopeOf(caller: CallerIdentity): string {
    return caller.kind === 'key'
      ? `key:${caller.id}`
      : `anonymous:${createHash('sha256').update(caller.address).digest('hex').slice(0, 32)}`;
  }

  static requestHash(method: string, path: string, body: unknown): string {
    return createHash('sha256')
      .update(`${method} ${path}\n${canonicalJson(body ?? null)}`)
      .digest('hex');
  }

  /** Decides, through the unique (scope, key), whether this request runs, replays, waits or conflicts. */
  async claim(req: ClaimRequest): Promise<Claim> {
    const hash = IdempotencyService.requestHash(req.method, req.path, req.body);
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = await this.keys.claim({
        scope: req.scope,
        key: req.key,
        requestHash: hash,
        method: req.method,
        path: req.path,
      });
      if (id !== null) return { kind: 'new', id };

      const row = await this.keys.findByKey(req.scope, req.key);
      if (!row) continue; // released between our insert and select: try again
      if (row.requestHash !== hash) return { kind: 'mismatch', row };
      if (row.status === 'completed') return { kind: 'replay', row };
      if (await this.keys.takeOver(row.id, IDEMPOTENCY_LOCK_TIMEOUT_MS)) {
        this.logger.warn(
          `Idempotency-Key ${req.key}: taking over a claim abandoned since ${row.lockedAt.toISOString()}`,
        );
        return { kind: 'new', id: row.id };
      }
      return { kind: 'in_flight' };
    }
    return { kind: 'in_flight' };
  }

  async complete(id: string, response: IdempotencyAnswer): Promise<void> {
    await this.keys.complete(id, { ...response, headers: response.headers ?? {} });
  }

  /** Forgets a claim whose request produced nothing worth replaying, so a retry runs again. */
  async release(id: string): Promise<void> {
    await this.keys.release(id);
  }

  /** Deletes keys past their lifetime (IDEMPOTENCY_TTL_H). */
  async purgeExpired(): Promise<number> {
    const n = await this.keys.deleteOlderThan(this.ttlHours);
    if (n > 0) this.logger.log(`Purged ${n} idempotency key(s) older than ${this.ttlHours} h`);
    return n;
  }
}

/** JSON with object keys sorted, so that key order does not make two equal bodies differ. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
