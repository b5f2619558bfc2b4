import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { preparedQuery } from '../../../common/db/prepared-query.js';
import {
  EndpointsRepository,
  type SealedEndpoint,
  type SealedSample,
  type StreakRow,
} from '../endpoints.repository.js';
import { WebhookEndpoint, type OutboundOwner } from '../outbound.entities.js';

/** EndpointsRepository over PostgreSQL. */
@Injectable()
export class TypeormEndpointsRepository extends EndpointsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  sealedSamples(): Promise<SealedSample[]> {
    return this.db.query(
      `SELECT DISTINCT ON (sealing_key_id) sealing_key_id, count(*) OVER (PARTITION BY sealing_key_id)::int AS n,
              id, secret_sealed, previous_secret_sealed
         FROM webhook_endpoints WHERE sealing_key_id IS NOT NULL
        ORDER BY sealing_key_id, id`,
    );
  }

  lockSealedUnderOtherKeys(
    manager: EntityManager,
    keyId: string,
    afterId: string,
    limit: number,
  ): Promise<SealedEndpoint[]> {
    return manager.query(
      `SELECT id, secret_sealed AS "sealedSecret", previous_secret_sealed AS "sealedPreviousSecret",
              sealing_key_id AS "sealingKeyId"
         FROM webhook_endpoints
        WHERE sealing_key_id IS NOT NULL AND sealing_key_id <> $1 AND id > $2
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [keyId, afterId, limit],
    );
  }

  async storeSealed(manager: EntityManager, endpoints: SealedEndpoint[]): Promise<void> {
    if (endpoints.length === 0) return;
    await manager.query(
      `UPDATE webhook_endpoints e
          SET secret_sealed = x."sealedSecret", previous_secret_sealed = x."sealedPreviousSecret",
              sealing_key_id = x."sealingKeyId"
         FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, "sealedSecret" text, "sealedPreviousSecret" text, "sealingKeyId" text)
        WHERE e.id = x.id`,
      [JSON.stringify(endpoints)],
    );
  }

  async countSealedUnder(keyId: string): Promise<{ current: number; left: number }> {
    const [counts] = await this.db.query<{ current: number; left: number }[]>(
      `SELECT count(*) FILTER (WHERE sealing_key_id = $1)::int AS current,
              count(*) FILTER (WHERE sealing_key_id <> $1)::int AS left
         FROM webhook_endpoints WHERE sealing_key_id IS NOT NULL`,
      [keyId],
    );
    return counts;
  }

  /**
   * Only a streak's first failure writes the row; read from the statement's snapshot, a
   * streak another transaction began meanwhile shows as null.
   */
  beginStreaks(manager: EntityManager, ids: string[], since: string[]): Promise<(StreakRow & { id: string })[]> {
    return preparedQuery<StreakRow & { id: string }>(
      manager,
      'hookline_endpoint_streaks',
      `WITH x AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, since)),
       u AS (UPDATE webhook_endpoints w SET failing_since = x.since FROM x
              WHERE w.id = x.id AND w.id IN (SELECT id FROM webhook_endpoints
                                              WHERE id = ANY($1::uuid[]) AND failing_since IS NULL
                                              ORDER BY id FOR UPDATE)
             RETURNING w.id, w.failing_since, w.status)
       SELECT id, failing_since, status FROM u
       UNION ALL
       SELECT id, failing_since, status FROM webhook_endpoints
        WHERE id = ANY($1::uuid[]) AND id NOT IN (SELECT id FROM u)`,
      [ids, since],
    );
  }

  async lockStreak(manager: EntityManager, id: string, since: Date): Promise<StreakRow | undefined> {
    const [locked] = await manager.query<StreakRow[]>(
      `WITH u AS (UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $2) WHERE id = $1
                    RETURNING failing_since, status)
         SELECT failing_since, status FROM u`,
      [id, since],
    );
    return locked;
  }

  async disable(manager: EntityManager, id: string, reason: string): Promise<boolean> {
    const changed = await manager.query<{ id: string }[]>(
      `WITH d AS (UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, disabled_at = now(), updated_at = now()
                   WHERE id = $1 AND status = 'enabled' RETURNING id) SELECT id FROM d`,
      [id, reason],
    );
    return changed.length > 0;
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  create(endpoint: Partial<WebhookEndpoint>): Promise<WebhookEndpoint> {
    const repo = this.db.getRepository(WebhookEndpoint);
    return repo.save(repo.create(endpoint));
  }

  page(owner: OutboundOwner, limit: number, cursor: [string, string] | null): Promise<WebhookEndpoint[]> {
    const qb = this.db
      .getRepository(WebhookEndpoint)
      .createQueryBuilder('e')
      .where('e.owner = :owner', { owner })
      .orderBy('e.created_at', 'ASC')
      .addOrderBy('e.id', 'ASC')
      .take(limit + 1);
    if (cursor) {
      const [at, id] = cursor;
      qb.andWhere("(date_trunc('milliseconds', e.created_at), e.id) > (:at, :id)", { at, id });
    }
    return qb.getMany();
  }

  findOne(owner: OutboundOwner, id: string): Promise<WebhookEndpoint | null> {
    return this.db.getRepository(WebhookEndpoint).findOneBy({ id, owner });
  }

  findLocked(manager: EntityManager, owner: OutboundOwner, id: string): Promise<WebhookEndpoint | null> {
    return manager
      .getRepository(WebhookEndpoint)
      .findOne({ where: { id, owner }, lock: { mode: 'pessimistic_write' } });
  }

  async update(manager: EntityManager, id: string, patch: Partial<WebhookEndpoint>): Promise<void> {
    await manager.update(WebhookEndpoint, { id }, patch);
  }

  async deleteWithDeliveries(id: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.query(`DELETE FROM webhook_deliveries WHERE endpoint_id = $1`, [id]);
      await manager.query(`DELETE FROM webhook_endpoints WHERE id = $1`, [id]);
    });
  }

  async insertCallback(manager: EntityManager, owner: OutboundOwner, url: string): Promise<void> {
    await manager.query(
      `INSERT INTO webhook_endpoints (owner, kind, url, description) VALUES ($1, 'callback', $2, 'callback_url of payments')
       ON CONFLICT (owner, url) WHERE kind = 'callback' DO NOTHING`,
      [owner, url],
    );
  }
}
