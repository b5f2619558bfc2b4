import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { preparedQuery } from '../../../common/db/prepared-query.js';
import {
  DeliveriesRepository,
  type OutboxRow,
  type OutboxSource,
  type OutboxSourceRow,
  type OutboxSourceWrite,
  type OutboxWrite,
  type FailedAttemptRow,
  type FailedDeliveryRow,
  type LoadedDelivery,
  type SucceededAttemptRow,
} from '../deliveries.repository.js';
import type { MirrorSql } from '../outbound-hooks.js';
import {
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookMessage,
  type OutboundOwner,
} from '../outbound.entities.js';

interface LoadedRow {
  id: string;
  trace_context: string | null;
  status: WebhookDelivery['status'];
  attempts: number;
  message_id: string;
  endpoint_id: string;
  created_at: Date;
  owner: OutboundOwner;
  event_id: string;
  event_type: string;
  body: string;
  message_created_at: Date;
  kind: WebhookEndpoint['kind'];
  url: string;
  endpoint_status: WebhookEndpoint['status'];
  disabled_reason: string | null;
  secret_sealed: string | null;
  previous_secret_sealed: string | null;
  sealing_key_id: string | null;
  previous_secret_expires_at: Date | null;
  rate_limit_per_s: number | null;
}

/** DeliveriesRepository over PostgreSQL; the hot paths' statements are prepared (common/db/prepared-query.ts). */
@Injectable()
export class TypeormDeliveriesRepository extends DeliveriesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** The body is the stored payload's text, sent as is on every attempt. */
  async loadMany(ids: string[]): Promise<(LoadedDelivery | null)[]> {
    const rows = await preparedQuery<LoadedRow>(
      this.db.manager,
      'hookline_deliveries_load',
      `SELECT d.id, d.status, d.attempts, d.message_id, d.endpoint_id, d.created_at,
              m.owner, m.event_id, m.event_type, m.payload::text AS body, m.created_at AS message_created_at,
              m.trace_context,
              e.kind, e.url, e.status AS endpoint_status, e.disabled_reason, e.secret_sealed, e.previous_secret_sealed,
              e.sealing_key_id, e.previous_secret_expires_at, e.rate_limit_per_s
         FROM webhook_deliveries d
         JOIN webhook_messages m ON m.id = d.message_id
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const row = byId.get(id);
      return row ? toDelivery(row) : null;
    });
  }

  async exists(id: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(`SELECT 1 FROM webhook_deliveries WHERE id = $1`, [id]);
    return rows.length > 0;
  }

  async failPending(id: string, error: string): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2 WHERE id = $1 AND status = 'pending'`,
      [id, error],
    );
  }

  async failPendingOfEndpoint(manager: EntityManager, endpointId: string, error: string): Promise<void> {
    await manager.query(
      `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2
        WHERE endpoint_id = $1 AND status = 'pending'`,
      [endpointId, error],
    );
  }

  async postpone(id: string, delayMs: number, error: string): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2 / 1000.0), last_error = $3
          WHERE id = $1 AND status = 'pending'`,
      [id, delayMs, error],
    );
  }

  /**
   * One statement: the attempts inserted, the deliveries succeeded, and each endpoint's
   * last success (only when it changes anything, or once a second; endpoint rows locked in
   * id order). A delivery deleted meanwhile (with its endpoint) is left out rather than
   * failing the whole batch.
   */
  async recordSuccesses(batch: SucceededAttemptRow[], mirrors: readonly MirrorSql[]): Promise<void> {
    await preparedQuery(
      this.db.manager,
      statementName('hookline_deliveries_succeeded', mirrors),
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(delivery_id uuid, endpoint_id uuid, number int,
                started_at timestamptz, duration_ms int, status_code int, excerpt text, event_id text, mirror text)),
       d AS (UPDATE webhook_deliveries w SET status = 'succeeded', attempts = i.number, last_attempt_at = i.started_at,
                    last_status_code = i.status_code, last_error = NULL, next_attempt_at = NULL, succeeded_at = now()
               FROM input i WHERE w.id = i.delivery_id
             RETURNING w.id),
       -- Attempts only for the deliveries still there (d's rows), with no second look-up.
       a AS (INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status_code, response_excerpt, error, succeeded)
             SELECT i.delivery_id, i.number, i.started_at, i.duration_ms, i.status_code, i.excerpt, NULL, true
               FROM input i JOIN d ON d.id = i.delivery_id),
       e AS (UPDATE webhook_endpoints w SET last_success_at = now(), failing_since = NULL
              WHERE w.id IN (SELECT id FROM webhook_endpoints
                              WHERE id IN (SELECT endpoint_id FROM input)
                                AND (failing_since IS NOT NULL OR last_success_at IS NULL
                                     OR last_success_at < now() - interval '1 second')
                              ORDER BY id FOR UPDATE))${mirrorCtes(
                                mirrors,
                                `SELECT i.event_id, true AS succeeded, true AS final, NULL::text AS error
                                   FROM input i JOIN d ON d.id = i.delivery_id WHERE i.mirror = `,
                              )}
       SELECT count(*)::int AS n FROM input`,
      [JSON.stringify(batch)],
    );
  }

  async insertFailedAttempts(manager: EntityManager, rows: FailedAttemptRow[]): Promise<void> {
    await preparedQuery(
      manager,
      'hookline_deliveries_failed_attempts',
      `INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status_code, response_excerpt, error, succeeded)
         SELECT delivery_id, number, started_at, duration_ms, status_code, excerpt, error, false
           FROM jsonb_to_recordset($1::jsonb) AS x(delivery_id uuid, number int, started_at timestamptz, duration_ms int,
                status_code int, excerpt text, error text)`,
      [JSON.stringify(rows)],
    );
  }

  async updateFailed(manager: EntityManager, rows: FailedDeliveryRow[], mirrors: readonly MirrorSql[]): Promise<void> {
    await preparedQuery(
      manager,
      statementName('hookline_deliveries_failed', mirrors),
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, status text, attempts int, started_at timestamptz,
                         status_code int, error text, delay_ms int, event_id text, mirror text)),
       d AS (UPDATE webhook_deliveries w SET status = x.status, attempts = x.attempts, last_attempt_at = x.started_at,
                    last_status_code = x.status_code, last_error = x.error,
                    next_attempt_at = CASE WHEN x.delay_ms IS NULL THEN NULL
                                           ELSE now() + make_interval(secs => x.delay_ms / 1000.0) END
               FROM x WHERE w.id = x.id
             RETURNING w.id)${mirrorCtes(
               mirrors,
               `SELECT x.event_id, false AS succeeded, x.status = 'failed' AS final, x.error
                  FROM x JOIN d ON d.id = x.id WHERE x.mirror = `,
             )}
       SELECT count(*)::int AS n FROM x`,
      [JSON.stringify(rows)],
    );
  }

  findOverdue(owner: OutboundOwner, staleMs: number, limit: number): Promise<{ id: string }[]> {
    return this.db.query<{ id: string }[]>(
      `SELECT d.id FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
          WHERE d.status = 'pending' AND d.next_attempt_at < now() - make_interval(secs => $1 / 1000.0)
            AND m.owner = $2
          ORDER BY d.next_attempt_at LIMIT $3`,
      [staleMs, owner, limit],
    );
  }

  async deleteFinalMessages(owner: OutboundOwner, olderThanMs: number, limit: number): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number }[]>(
      `WITH gone AS (
           DELETE FROM webhook_messages WHERE id IN (
             SELECT m.id FROM webhook_messages m
              WHERE m.owner = $1 AND m.created_at < now() - make_interval(secs => $2 / 1000.0)
                AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id AND d.status = 'pending')
              ORDER BY m.created_at
              LIMIT $3
                FOR UPDATE SKIP LOCKED)
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
      [owner, olderThanMs, limit],
    );
    return n;
  }
  writeMessages(manager: EntityManager, write: OutboxWrite): Promise<OutboxRow[]> {
    // The trace contexts are bound only when a message has one (tracing on): with tracing
    // off the statement is the one it always was (docs/decisions/1202-trace-context-per-row.md).
    const traced = write.traceContexts ? 1 : 0;
    return preparedQuery<OutboxRow>(
      manager,
      traced ? 'hookline_outbox_write_traced' : 'hookline_outbox_write',
      `WITH input AS (
         SELECT m.event_id, m.event_type, m.delay_ms, p.payload, m.n${traced ? ', m.trace_context' : ''}
           FROM unnest($2::text[], $3::text[], $5::int[]${traced ? ', $8::text[]' : ''})
                WITH ORDINALITY AS m(event_id, event_type, delay_ms, ${traced ? 'trace_context, ' : ''}n)
           JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS p(payload, n) USING (n)
       ), message AS (
         INSERT INTO webhook_messages (owner, event_id, event_type, payload${traced ? ', trace_context' : ''})
         SELECT $1, event_id, event_type, payload${traced ? ', trace_context' : ''} FROM input ORDER BY n
         ON CONFLICT (owner, event_id) DO NOTHING RETURNING id, event_id
       ), delivery AS (
         INSERT INTO webhook_deliveries (message_id, endpoint_id, status, next_attempt_at, last_error)
         SELECT m.id, e.id,
                CASE WHEN e.status = 'enabled' THEN 'pending' ELSE 'failed' END,
                CASE WHEN e.status = 'enabled' THEN now() + make_interval(secs => i.delay_ms / 1000.0) END,
                CASE WHEN e.status = 'enabled' THEN NULL ELSE 'endpoint disabled: ' || coalesce(e.disabled_reason, '') END
           FROM message m
           JOIN (SELECT DISTINCT ON (event_id) * FROM input ORDER BY event_id, n) i USING (event_id)
           JOIN webhook_endpoints e
             ON e.owner = $1 AND e.kind = 'registered'
            AND CASE WHEN $6::uuid[] IS NOT NULL THEN e.id = ANY($6::uuid[])
                     ELSE (i.event_type = ANY(e.event_types)
                           OR (e.event_types IS NULL AND NOT i.event_type = ANY($7::text[]))
                           OR EXISTS (SELECT 1 FROM unnest(e.event_types) w
                                       WHERE right(w, 2) = '.*' AND starts_with(i.event_type, left(w, -1)))) END
         RETURNING id, status, message_id
       )
       SELECT 'message' AS kind, id, event_id AS ref, NULL AS status FROM message
       UNION ALL
       SELECT 'delivery', id, message_id::text, status FROM delivery`,
      [
        write.owner,
        write.eventIds,
        write.eventTypes,
        write.payloads,
        write.delaysMs,
        write.endpointIds,
        write.operationalTypes,
        ...(traced ? [write.traceContexts] : []),
      ],
    );
  }

  async writeWithin(
    manager: EntityManager,
    source: OutboxSource,
    write: OutboxSourceWrite,
  ): Promise<OutboxSourceRow[]> {
    const n = source.params.length;
    const [owner, url, dropped, delayMs, operational] = [1, 2, 3, 4, 5].map((i) => `$${n + i}`);
    // The callback endpoint is read with the statement's snapshot, so the change runs only
    // when the callback delivery can be written with it (a URL's first use: see OutboxSource).
    const rows = await preparedQuery<Omit<OutboxSourceRow, 'loaded'> & { loaded: LoadedJson | null }>(
      manager,
      source.name,
      `WITH outbox_callback_endpoint AS (
         SELECT id, kind, url, status, disabled_reason, secret_sealed, previous_secret_sealed, sealing_key_id,
                previous_secret_expires_at, rate_limit_per_s
           FROM webhook_endpoints
          WHERE ${url}::text IS NOT NULL AND owner = ${owner} AND kind = 'callback' AND url = ${url}
       ), outbox_ready AS (
         SELECT 1 AS ready WHERE ${url}::text IS NULL OR EXISTS (SELECT 1 FROM outbox_callback_endpoint)
       ), ${source.ctes},
       outbox_message AS (
         INSERT INTO webhook_messages (owner, event_id, event_type, payload, trace_context)
         SELECT ${owner}, event_id, event_type, payload, trace_context FROM outbox_event
         ON CONFLICT (owner, event_id) DO NOTHING RETURNING id, event_id, event_type, payload, created_at, trace_context
       ), outbox_delivery AS (
         INSERT INTO webhook_deliveries (message_id, endpoint_id, status, next_attempt_at, last_error)
         SELECT m.id, e.id,
                CASE WHEN e.status = 'enabled' THEN 'pending' ELSE 'failed' END,
                CASE WHEN e.status = 'enabled' THEN now() + make_interval(secs => ${delayMs}::int / 1000.0) END,
                CASE WHEN e.status = 'enabled' THEN NULL ELSE 'endpoint disabled: ' || coalesce(e.disabled_reason, '') END
           FROM outbox_message m
           JOIN webhook_endpoints e
             ON e.owner = ${owner} AND e.kind = 'registered'
            AND (m.event_type = ANY(e.event_types)
                 OR (e.event_types IS NULL AND NOT m.event_type = ANY(${operational}::text[]))
                 OR EXISTS (SELECT 1 FROM unnest(e.event_types) w
                             WHERE right(w, 2) = '.*' AND starts_with(m.event_type, left(w, -1))))
         RETURNING id, status, message_id
       ), outbox_callback AS (
         INSERT INTO webhook_deliveries (message_id, endpoint_id, status, next_attempt_at, last_error)
         SELECT m.id, e.id,
                CASE WHEN e.status = 'enabled' AND NOT ${dropped}::boolean THEN 'pending' ELSE 'failed' END,
                CASE WHEN e.status = 'enabled' AND NOT ${dropped}::boolean
                     THEN now() + make_interval(secs => ${delayMs}::int / 1000.0) END,
                CASE WHEN ${dropped}::boolean THEN 'dropped by PSP chaos (never sent)'
                     WHEN e.status <> 'enabled' THEN 'endpoint disabled: ' || coalesce(e.disabled_reason, '') END
           FROM outbox_message m CROSS JOIN outbox_callback_endpoint e
         RETURNING id, status, attempts, message_id, endpoint_id, created_at
       )
       SELECT 'ready' AS kind, NULL::uuid AS id, NULL AS ref, NULL AS status, NULL::jsonb AS loaded FROM outbox_ready
       UNION ALL SELECT 'event', NULL, event_id, NULL, NULL FROM outbox_event
       UNION ALL SELECT 'message', id, event_id, NULL, NULL FROM outbox_message
       UNION ALL SELECT 'delivery', id, message_id::text, status, NULL FROM outbox_delivery
       -- The callback delivery as loadMany reads it: its first attempt needs no load of its own.
       UNION ALL SELECT 'callback', c.id, c.message_id::text, c.status,
                        jsonb_build_object('id', c.id, 'status', c.status, 'attempts', c.attempts,
                          'message_id', c.message_id, 'endpoint_id', c.endpoint_id, 'created_at', c.created_at,
                          'owner', ${owner}::text, 'event_id', m.event_id, 'event_type', m.event_type,
                          'body', m.payload::text, 'message_created_at', m.created_at, 'trace_context', m.trace_context,
                          'kind', e.kind, 'url', e.url,
                          'endpoint_status', e.status, 'disabled_reason', e.disabled_reason,
                          'secret_sealed', e.secret_sealed, 'previous_secret_sealed', e.previous_secret_sealed,
                          'sealing_key_id', e.sealing_key_id, 'previous_secret_expires_at', e.previous_secret_expires_at,
                          'rate_limit_per_s', e.rate_limit_per_s)
                   FROM outbox_callback c JOIN outbox_message m ON m.id = c.message_id
                   CROSS JOIN outbox_callback_endpoint e${
                     source.answer
                       ? ` UNION ALL SELECT 'answer', NULL, a.ref, a.value, NULL FROM (${source.answer}) AS a(ref, value)`
                       : ''
                   }`,
      [...source.params, write.owner, write.callbackUrl, write.dropCallback, write.delayMs, write.operationalTypes],
    );
    return rows.map(({ loaded, ...row }) => (loaded ? { ...row, loaded: toDelivery(loadedRowOf(loaded)) } : row));
  }

  async writeCallbackDelivery(
    manager: EntityManager,
    messageId: string | null,
    callback: { owner: OutboundOwner; url: string },
    dropped: boolean,
    delayMs: number,
  ): Promise<{ id: string; status: string } | undefined> {
    // The endpoint is looked up by its URL in the same statement (the partial unique index
    // uq_webhook_endpoints_callback): one statement per settlement, not a SELECT and an INSERT.
    const [cb] = await preparedQuery<{ id: string; status: string }>(
      manager,
      'hookline_callback_delivery',
      `INSERT INTO webhook_deliveries (message_id, endpoint_id, status, next_attempt_at, last_error)
       SELECT $1, e.id,
              CASE WHEN e.status = 'enabled' AND NOT $4 THEN 'pending' ELSE 'failed' END,
              CASE WHEN e.status = 'enabled' AND NOT $4 THEN now() + make_interval(secs => $5 / 1000.0) END,
              CASE WHEN $4 THEN 'dropped by PSP chaos (never sent)'
                   WHEN e.status <> 'enabled' THEN 'endpoint disabled: ' || coalesce(e.disabled_reason, '') END
         FROM webhook_endpoints e WHERE e.owner = $2 AND e.kind = 'callback' AND e.url = $3
       RETURNING id, status`,
      [messageId, callback.owner, callback.url, dropped, delayMs],
    );
    return cb;
  }

  pageOfEndpoint(
    endpointId: string,
    limit: number,
    status: string | undefined,
    cursor: [string, string] | null,
  ): Promise<(WebhookDelivery & { message?: WebhookMessage })[]> {
    const qb = this.db
      .getRepository(WebhookDelivery)
      .createQueryBuilder('d')
      .innerJoinAndSelect('d.message', 'm')
      .where('d.endpoint_id = :endpointId', { endpointId })
      .orderBy('d.created_at', 'DESC')
      .addOrderBy('d.id', 'DESC')
      .take(limit + 1);
    if (status) qb.andWhere('d.status = :status', { status });
    if (cursor) {
      const [at, id] = cursor;
      qb.andWhere("(date_trunc('milliseconds', d.created_at), d.id) < (:at, :id)", { at, id });
    }
    return qb.getMany();
  }

  findWithMessage(id: string): Promise<WebhookDelivery | null> {
    return this.db.getRepository(WebhookDelivery).findOne({ where: { id }, relations: { message: true } });
  }

  attemptsOf(deliveryId: string): Promise<WebhookAttempt[]> {
    return this.db
      .getRepository(WebhookAttempt)
      .find({ where: { deliveryId }, order: { startedAt: 'ASC', id: 'ASC' } });
  }

  failedSince(endpointId: string, since: Date): Promise<{ id: string }[]> {
    return this.db.query<{ id: string }[]>(
      `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'failed' AND created_at >= $2`,
      [endpointId, since],
    );
  }

  findMessage(owner: OutboundOwner, eventId: string): Promise<WebhookMessage | null> {
    return this.db.getRepository(WebhookMessage).findOneBy({ owner, eventId });
  }

  toEnabledEndpoints(messageId: string): Promise<{ id: string }[]> {
    return this.db.query<{ id: string }[]>(
      `SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.message_id = $1 AND e.status = 'enabled'`,
      [messageId],
    );
  }

  async restart(ids: string[]): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), succeeded_at = NULL
        WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }
}

/** A LoadedRow as jsonb_build_object renders it: its times as text. */
type LoadedJson = Omit<LoadedRow, 'created_at' | 'message_created_at' | 'previous_secret_expires_at'> & {
  created_at: string;
  message_created_at: string;
  previous_secret_expires_at: string | null;
};

function loadedRowOf(json: LoadedJson): LoadedRow {
  return {
    ...json,
    created_at: new Date(json.created_at),
    message_created_at: new Date(json.message_created_at),
    previous_secret_expires_at:
      json.previous_secret_expires_at === null ? null : new Date(json.previous_secret_expires_at),
  };
}

function toDelivery(row: LoadedRow): LoadedDelivery {
  const message = Object.assign(new WebhookMessage(), {
    id: row.message_id,
    owner: row.owner,
    eventId: row.event_id,
    eventType: row.event_type,
    createdAt: row.message_created_at,
    traceContext: row.trace_context,
  });
  const endpoint = Object.assign(new WebhookEndpoint(), {
    id: row.endpoint_id,
    owner: row.owner,
    kind: row.kind,
    url: row.url,
    status: row.endpoint_status,
    disabledReason: row.disabled_reason,
    sealedSecret: row.secret_sealed,
    sealedPreviousSecret: row.previous_secret_sealed,
    sealingKeyId: row.sealing_key_id,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    rateLimitPerS: row.rate_limit_per_s,
  });
  return Object.assign(new WebhookDelivery(), {
    id: row.id,
    status: row.status,
    attempts: row.attempts,
    messageId: row.message_id,
    endpointId: row.endpoint_id,
    createdAt: row.created_at,
    message,
    endpoint,
    body: row.body,
  });
}

/**
 * One CTE per publisher's mirror: its statement over `mirrored`, the rows `select` (ending
 * in `WHERE … mirror = `) picks for that owner. Empty without mirrors.
 */
function mirrorCtes(mirrors: readonly MirrorSql[], select: string): string {
  return mirrors
    .map(
      (m, i) => `,
       mirror_${i} AS (WITH mirrored AS (${select}'${m.owner}')
                 ${m.sql})`,
    )
    .join('');
}

/** A statement's name with the mirrors its text includes: pg prepares one text per name. */
function statementName(base: string, mirrors: readonly MirrorSql[]): string {
  return mirrors.length ? `${base}_mirrored_by_${mirrors.map((m) => m.owner).join('_')}` : base;
}
