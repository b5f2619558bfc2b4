import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { IdempotencyKey } from '../idempotency-key.entity.js';
import {
  IdempotencyKeysRepository,
  type IdempotencyAnswer,
  type NewIdempotencyKey,
} from '../idempotency-keys.repository.js';

@Injectable()
export class TypeormIdempotencyKeysRepository extends IdempotencyKeysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  async claim(claim: NewIdempotencyKey): Promise<string | null> {
    const inserted: { id: string }[] = await this.db.query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, method, path, status, locked_at)
         VALUES ($1, $2, $3, $4, $5, 'in_flight', now())
         ON CONFLICT (scope, key) DO NOTHING
         RETURNING id`,
      [claim.scope, claim.key, claim.requestHash, claim.method, claim.path],
    );
    return inserted.length > 0 ? inserted[0].id : null;
  }

  findByKey(scope: string, key: string): Promise<IdempotencyKey | null> {
    return this.db.getRepository(IdempotencyKey).findOneBy({ scope, key });
  }

  async takeOver(id: string, lockTimeoutMs: number): Promise<boolean> {
    // (A CTE because TypeORM's query() answers a bare UPDATE with [rows, count].)
    const takenOver: { id: string }[] = await this.db.query(
      `WITH taken AS (
           UPDATE idempotency_keys SET locked_at = now()
            WHERE id = $1 AND status = 'in_flight' AND locked_at < now() - make_interval(secs => $2 / 1000.0)
            RETURNING id)
         SELECT id FROM taken`,
      [id, lockTimeoutMs],
    );
    return takenOver.length > 0;
  }

  async complete(id: string, answer: Required<IdempotencyAnswer>): Promise<void> {
    await this.db.query(
      `UPDATE idempotency_keys
          SET status = 'completed', response_status = $2, response_body = $3, response_content_type = $4,
              response_headers = $5, completed_at = now()
        WHERE id = $1`,
      [id, answer.status, answer.body, answer.contentType, answer.headers],
    );
  }

  async release(id: string): Promise<void> {
    await this.db.query(`DELETE FROM idempotency_keys WHERE id = $1 AND status = 'in_flight'`, [id]);
  }

  async deleteOlderThan(hours: number): Promise<number> {
    const [{ n }]: { n: number }[] = await this.db.query(
      `WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [hours],
    );
    return n;
  }
}
