import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { preparedQuery } from '../../../common/db/prepared-query.js';
import { EndpointsRepository, type StreakRow } from '../endpoints.repository.js';

/** EndpointsRepository over PostgreSQL. */
@Injectable()
export class TypeormEndpointsRepository extends EndpointsRepository {
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
}
