import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { preparedQuery } from '../../../common/db/prepared-query.js';
import type { SqlPart } from '../../../common/db/sql-part.js';
import type { InboxCoLock } from '../webhook-handler.js';
import {
  InboxRepository,
  eventKey,
  type InboxBacklogStats,
  type DeadFilter,
  type DeadOrRetry,
  type DeadRow,
  type DiscardedRow,
  type IncomingEvent,
  type InboxMark,
  type LockedInboxRow,
  type RetryPolicy,
  type RevivedRow,
} from '../inbox.repository.js';

/**
 * The inbox over PostgreSQL (webhook_inbox). The statements of the hot paths — the
 * receiver's INSERT, the applier's lock and mark — are named prepared statements
 * (docs/decisions/0012-prepared-statements.md).
 */
@Injectable()
export class TypeormInboxRepository extends InboxRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  async countBacklog(): Promise<number> {
    const [{ n }]: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n FROM webhook_inbox WHERE processed_at IS NULL AND dead_at IS NULL`,
    );
    return n;
  }

  async backlogStats(cap: number, timeoutMs: number): Promise<InboxBacklogStats> {
    return this.db.transaction(async (manager) => {
      await manager.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
      const [row] = await manager.query<InboxBacklogStats[]>(
        `/* metrics: inbox backlog */
         SELECT (SELECT count(*) FROM (SELECT 1 FROM webhook_inbox WHERE processed_at IS NULL AND dead_at IS NULL LIMIT $1) capped)::int AS backlog,
                COALESCE(EXTRACT(EPOCH FROM now() - (SELECT min(received_at) FROM webhook_inbox WHERE processed_at IS NULL AND dead_at IS NULL)), 0)::float8 AS oldest_s`,
        [cap],
      );
      return row;
    });
  }

  async insertReceived(items: IncomingEvent[]): Promise<Map<string, string>> {
    // The trace context is bound only when some event of the batch has one (tracing on):
    // with tracing off the statement is the one it always was (decision record 1202).
    const traced = items.some((it) => it.traceparent);
    const rows = await preparedQuery<{ id: string; source: string; event_id: string }>(
      this.db.manager,
      traced ? 'hookline_inbox_receive_traced' : 'hookline_inbox_receive',
      traced ? RECEIVE_TRACED_SQL : RECEIVE_SQL,
      [
        items.map((it) => it.source),
        items.map((it) => it.eventId),
        items.map((it) => it.eventType),
        items.map((it) => it.receivedAt),
        items.map((it) => it.verifiedAt),
        // The verified bodies, already JSON: joined, not parsed and re-serialised.
        `[${items.map((it) => it.json).join(',')}]`,
        items.map((it) => it.sha256),
        ...(traced ? [items.map((it) => it.traceparent ?? null)] : []),
      ],
    );
    return new Map(rows.map((r) => [eventKey(r.source, r.event_id), r.id]));
  }

  async storedHashes(items: { source: string; eventId: string }[]): Promise<Map<string, string | null>> {
    const rows = await this.db.query<{ source: string; event_id: string; sha256: string | null }[]>(
      `SELECT source, event_id, encode(body_sha256, 'hex') AS sha256 FROM webhook_inbox
        WHERE (source, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [items.map((it) => it.source), items.map((it) => it.eventId)],
    );
    return new Map(rows.map((r) => [eventKey(r.source, r.event_id), r.sha256]));
  }

  async insertReconciled(
    source: string,
    events: unknown[],
    at: Date,
    traceparents?: (string | null)[],
  ): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at, received_via,
                                  trace_context)
       SELECT $1, e->>'event_id', e->>'type', e, $3, $3, $3, 'reconciliation', t.trace_context
         FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS r(e, n)
         LEFT JOIN unnest($4::text[]) WITH ORDINALITY AS t(trace_context, n) USING (n)
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING id`,
      [source, JSON.stringify(events), at, traceparents ?? null],
    );
    return rows.map((r) => r.id);
  }

  async lockRows(
    manager: EntityManager,
    inboxIds: string[],
    coLocks: readonly InboxCoLock[] = [],
  ): Promise<{ rows: LockedInboxRow[]; coLocked: Map<string, Record<string, unknown>[]> }> {
    // Two lock phases in one statement, each in id order, so that two transactions holding
    // some of the same rows never deadlock: the inbox rows (two jobs may name the same), then
    // each co-lock's rows (the payments the events name). UNION ALL runs its branches in
    // turn, so every inbox row is locked before the first co-locked one; the co-locks read
    // the rows as FOR UPDATE returns them (the latest version), skipping those processed.
    const rows = await preparedQuery<
      LockedInboxRow & { co_lock: string | null; co_row: Record<string, unknown> | null }
    >(
      manager,
      ['hookline_inbox_lock', ...coLocks.map((l) => l.name)].join('+'),
      `WITH inbox_locked AS MATERIALIZED (
         SELECT id, source, event_id, event_type, payload, received_at, verified_at, queued_at, received_via, processed_at,
                trace_context
           FROM webhook_inbox WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
       ), inbox_pending AS (
         SELECT id, source, event_type, payload FROM inbox_locked WHERE processed_at IS NULL
       )${coLocks.map((l, i) => `, co_lock_${i} AS MATERIALIZED (${l.sql})`).join('')}
       SELECT NULL::text AS co_lock, NULL::jsonb AS co_row, i.* FROM inbox_locked i${coLocks
         .map(
           (l, i) => `
       UNION ALL SELECT ${quoteLiteral(l.name)}, c.row, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
         FROM co_lock_${i} c`,
         )
         .join('')}`,
      [inboxIds],
    );
    const coLocked = new Map<string, Record<string, unknown>[]>(coLocks.map((l) => [l.name, []]));
    const locked: LockedInboxRow[] = [];
    for (const { co_lock, co_row, ...row } of rows) {
      if (co_lock === null) locked.push(row);
      else coLocked.get(co_lock)!.push(co_row!);
    }
    return { rows: locked, coLocked };
  }

  async markApplied(manager: EntityManager, marks: InboxMark[], processedAt: Date): Promise<void> {
    const part = this.markAppliedPart(marks, processedAt);
    await preparedQuery(manager, 'hookline_inbox_mark', `WITH ${part.ctes} SELECT 1 WHERE false`, part.params);
  }

  markAppliedPart(marks: InboxMark[], processedAt: Date): SqlPart {
    return {
      name: 'inbox_mark',
      ctes: `inbox_mark AS (
         UPDATE webhook_inbox i SET status = m.status, outcome = m.outcome, processed_at = $4,
                attempts = i.attempts + 1, last_error = NULL
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS m(id, status, outcome)
          WHERE i.id = m.id
       )`,
      params: [marks.map((m) => m.id), marks.map((m) => m.status), marks.map((m) => m.outcome), processedAt],
    };
  }

  async markFailed(
    manager: EntityManager,
    id: string,
    message: string,
    policy: RetryPolicy,
  ): Promise<DeadOrRetry | undefined> {
    // An UPDATE answers [rows, count] through TypeORM.
    const [[marked]] = await manager.query<[DeadOrRetry[], number]>(
      `UPDATE webhook_inbox
              SET attempts = attempts + 1, last_error = $2,
                  status = CASE WHEN attempts + 1 >= $3 THEN 'dead' ELSE status END,
                  dead_at = CASE WHEN attempts + 1 >= $3 THEN now() END,
                  queued_at = CASE WHEN attempts + 1 >= $3 THEN queued_at
                                   ELSE now() + make_interval(secs => least($4 * power(2, attempts), $5) / 1000.0) END
            WHERE id = $1 AND processed_at IS NULL AND dead_at IS NULL
        RETURNING id, source, event_id, event_type, payload, received_at, verified_at, queued_at, received_via,
                  attempts, dead_at IS NOT NULL AS dead, least($4 * power(2, attempts - 1), $5)::int AS delay_ms`,
      [id, message, policy.maxAttempts, policy.backoffMs, policy.backoffMaxMs],
    );
    return marked;
  }

  claimStale(staleAfterMs: number, limit: number): Promise<string[]> {
    return this.db.transaction(async (manager) => {
      const rows: { id: string }[] = await manager.query(
        `SELECT id FROM webhook_inbox
          WHERE processed_at IS NULL AND dead_at IS NULL
            AND received_at < now() - make_interval(secs => $1 / 1000.0)
            AND (queued_at IS NULL OR queued_at < now() - make_interval(secs => $1 / 1000.0))
          ORDER BY received_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED`,
        [staleAfterMs, limit],
      );
      const claimed = rows.map((r) => r.id);
      if (claimed.length > 0) {
        await manager.query(`UPDATE webhook_inbox SET queued_at = now() WHERE id = ANY($1::uuid[])`, [claimed]);
      }
      return claimed;
    });
  }

  listDead(filter: DeadFilter, after: [string, string] | null, limit: number): Promise<DeadRow[]> {
    const params: unknown[] = [];
    const where = deadWhere(filter, params);
    if (after) {
      params.push(...after);
      where.push(
        `(date_trunc('milliseconds', dead_at), id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
      );
    }
    params.push(limit);
    return this.db.query<DeadRow[]>(
      `SELECT id, source, event_id AS "eventId", event_type AS "type", attempts, last_error AS "lastError",
              received_at AS "receivedAt", dead_at AS "deadAt", payload
         FROM webhook_inbox WHERE ${where.join(' AND ')}
        ORDER BY dead_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
  }

  reviveOne(id: string): Promise<RevivedRow[]> {
    return this.revive(`id = $1`, [id]);
  }

  reviveDead(filter: DeadFilter, limit: number): Promise<RevivedRow[]> {
    const params: unknown[] = [];
    const where = deadWhere(filter, params);
    params.push(limit);
    return this.revive(
      `id IN (SELECT id FROM webhook_inbox WHERE ${where.join(' AND ')} ORDER BY dead_at LIMIT $${params.length} FOR UPDATE SKIP LOCKED)`,
      params,
    );
  }

  async deleteDead(id: string): Promise<DiscardedRow | undefined> {
    // A DELETE answers [rows, count] through TypeORM. Its WHERE is checked again on the row
    // a concurrent replay committed (READ COMMITTED): replayed, it is no longer dead and stays.
    const [[row]] = await this.db.query<[DiscardedRow[], number]>(
      `DELETE FROM webhook_inbox WHERE id = $1 AND dead_at IS NOT NULL
        RETURNING id, source, event_id AS "eventId", event_type AS "type", payload`,
      [id],
    );
    return row;
  }

  async statusOf(id: string): Promise<string | null> {
    const [row] = await this.db.query<{ status: string }[]>(`SELECT status FROM webhook_inbox WHERE id = $1`, [id]);
    return row ? row.status : null;
  }

  async purgeProcessed(olderThanMs: number, limit: number): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number }[]>(
      `WITH gone AS (
           DELETE FROM webhook_inbox WHERE id IN (
             SELECT id FROM webhook_inbox
              WHERE processed_at < now() - make_interval(secs => $1 / 1000.0)
              ORDER BY processed_at
              LIMIT $2
                FOR UPDATE SKIP LOCKED)
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
      [olderThanMs, limit],
    );
    return n;
  }

  private async revive(where: string, params: unknown[]): Promise<RevivedRow[]> {
    const [rows] = await this.db.query<[RevivedRow[], number]>(
      `UPDATE webhook_inbox SET status = 'received', dead_at = NULL, attempts = 0, queued_at = now()
        WHERE ${where} AND dead_at IS NOT NULL
        RETURNING id, source`,
      params,
    );
    return rows;
  }
}

/** The receiver's INSERT of a batch of events (one statement, the bodies joined as one JSON array). */
const RECEIVE_SQL = `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at, body_sha256)
       SELECT m.source, m.event_id, m.event_type, e.doc, m.received_at, m.verified_at, now(), decode(m.sha256, 'hex')
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $7::text[])
                WITH ORDINALITY AS m(source, event_id, event_type, received_at, verified_at, sha256, n)
         JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS e(doc, n) USING (n)
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING id, source, event_id`;

/** RECEIVE_SQL with each event's trace context ($8), when tracing is on. */
const RECEIVE_TRACED_SQL = `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at, body_sha256, trace_context)
       SELECT m.source, m.event_id, m.event_type, e.doc, m.received_at, m.verified_at, now(), decode(m.sha256, 'hex'), m.trace_context
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $7::text[], $8::text[])
                WITH ORDINALITY AS m(source, event_id, event_type, received_at, verified_at, sha256, trace_context, n)
         JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS e(doc, n) USING (n)
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING id, source, event_id`;

/** The conditions of a dead-letter filter, its values appended to `params`. */
function deadWhere(filter: DeadFilter, params: unknown[]): string[] {
  const where = ['dead_at IS NOT NULL'];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filter.source) add((n) => `source = $${n}`, filter.source);
  if (filter.type) add((n) => `event_type = $${n}`, filter.type);
  if (filter.since) add((n) => `dead_at >= $${n}::timestamptz`, filter.since);
  if (filter.until) add((n) => `dead_at < $${n}::timestamptz`, filter.until);
  return where;
}

/** A co-lock's name as an SQL string literal (names are short identifiers; quoted all the same). */
function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
