import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { AllConfig } from '../../config/env.js';
import type { CallerIdentity } from '../auth/caller-identity.js';
import { IdempotencyKey } from './idempotency-key.entity.js';

/** A claim older than this whose request never finished (crashed process) may be taken over. */
export const IDEMPOTENCY_LOCK_TIMEOUT_MS = 60_000;

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
    @InjectDataSource() private readonly db: DataSource,
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
      const inserted: { id: string }[] = await this.db.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, method, path, status, locked_at)
         VALUES ($1, $2, $3, $4, $5, 'in_flight', now())
         ON CONFLICT (scope, key) DO NOTHING
         RETURNING id`,
        [req.scope, req.key, hash, req.method, req.path],
      );
      if (inserted.length > 0) return { kind: 'new', id: inserted[0].id };

      const row = await this.db.getRepository(IdempotencyKey).findOneBy({ scope: req.scope, key: req.key });
      if (!row) continue; // released between our insert and select: try again
      if (row.requestHash !== hash) return { kind: 'mismatch', row };
      if (row.status === 'completed') return { kind: 'replay', row };
      // (A CTE because TypeORM's query() answers a bare UPDATE with [rows, count].)
      const takenOver: { id: string }[] = await this.db.query(
        `WITH taken AS (
           UPDATE idempotency_keys SET locked_at = now()
            WHERE id = $1 AND status = 'in_flight' AND locked_at < now() - make_interval(secs => $2 / 1000.0)
            RETURNING id)
         SELECT id FROM taken`,
        [row.id, IDEMPOTENCY_LOCK_TIMEOUT_MS],
      );
      if (takenOver.length > 0) {
        this.logger.warn(
          `Idempotency-Key ${req.key}: taking over a claim abandoned since ${row.lockedAt.toISOString()}`,
        );
        return { kind: 'new', id: row.id };
      }
      return { kind: 'in_flight' };
    }
    return { kind: 'in_flight' };
  }

  async complete(
    id: string,
    response: { status: number; body: string; contentType: string; headers?: Record<string, string> },
  ): Promise<void> {
    await this.db.query(
      `UPDATE idempotency_keys
          SET status = 'completed', response_status = $2, response_body = $3, response_content_type = $4,
              response_headers = $5, completed_at = now()
        WHERE id = $1`,
      [id, response.status, response.body, response.contentType, response.headers ?? {}],
    );
  }

  /** Forgets a claim whose request produced nothing worth replaying, so a retry runs again. */
  async release(id: string): Promise<void> {
    await this.db.query(`DELETE FROM idempotency_keys WHERE id = $1 AND status = 'in_flight'`, [id]);
  }

  /** Deletes keys past their lifetime (IDEMPOTENCY_TTL_H). */
  async purgeExpired(): Promise<number> {
    const [{ n }]: { n: number }[] = await this.db.query(
      `WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [this.ttlHours],
    );
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
