import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../../common/db/prepared-query.js';
import type { RequestKey } from '../../http/idempotency/idempotency-on-row.interceptor.js';
import { IDEMPOTENCY_LOCK_TIMEOUT_MS } from '../../http/idempotency/lock-timeout.js';
import { appendParts, confirmParts, type SqlPart } from '../../common/db/sql-part.js';
import type { InboxCoLock } from '../../webhooks/inbound/webhook-handler.js';
import { paymentRefSql } from '../payment-refs.js';
import { PaymentTimelineEntry } from '../payment-timeline-entry.entity.js';
import { Payment } from '../payment.entity.js';
import {
  PaymentsRepository,
  type ClaimedPoll,
  type LockedPayment,
  type NewPayment,
  type NewTimelineEntry,
  type PaymentStart,
  type ResolvedPayment,
} from '../payments.repository.js';

/** The timeline INSERT of `writeTimeline` ($1–$4: payment ids, types, times, details as one JSON array). */
const TIMELINE_INSERT = `INSERT INTO payment_timeline (payment_id, type, at, detail)
       SELECT t.payment_id, t.type, t.at, d.detail
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS t(payment_id, type, at, n)
         JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS d(detail, n) USING (n)
        ORDER BY n`;

/** The UPDATE that resolves payments ($1–$4: ids, statuses, resolved_via, PSP payment ids; $5: at). */
const RESOLVE_UPDATE = `UPDATE payments p SET status = m.status, resolved_via = m.via, resolved_at = $5, updated_at = $5,
                psp_payment_id = m.psp_payment_id,
                failure_reason = CASE WHEN m.status = 'failed' THEN 'declined' END
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS m(id, status, via, psp_payment_id)
          WHERE p.id = m.id`;

/**
 * The payments an inbox batch's pending events name (InboxCoLock, reading `inbox_pending`):
 * by the shop's payment id in the metadata when it is a UUID, by the PSP payment id; where
 * each source names them is PAYMENT_REFS, which the handlers read too.
 */
const INBOX_CO_LOCK = `SELECT to_jsonb(p) AS row FROM (
         SELECT id, order_id, status, amount::text AS amount, currency, psp_payment_id FROM payments
          WHERE id = ANY(ARRAY(
                  SELECT k.id::uuid FROM inbox_pending e,
                         LATERAL (SELECT ${paymentRefSql('paymentId', 'e')} AS id) k
                   WHERE k.id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'))
             OR psp_payment_id = ANY(ARRAY(SELECT ${paymentRefSql('pspPaymentId', 'e')} FROM inbox_pending e))
          ORDER BY id FOR UPDATE
       ) p`;

/** A payments row as PostgreSQL returns it (amount is a bigint string). */
interface PaymentRow {
  id: string;
  order_id: string;
  status: Payment['status'];
  strategy: Payment['strategy'];
  payment_method: string;
  amount: string;
  currency: string;
  psp_payment_id: string | null;
  resolved_via: Payment['resolvedVia'];
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
  next_poll_at: Date | null;
  poll_count: number;
  attention_reason: string | null;
}

/** The columns of PaymentRow, in the order the start statements' UNIONs answer them. */
const PAYMENT_COLUMNS = [
  'id',
  'order_id',
  'status',
  'strategy',
  'payment_method',
  'amount',
  'currency',
  'psp_payment_id',
  'resolved_via',
  'failure_reason',
  'created_at',
  'updated_at',
  'resolved_at',
  'next_poll_at',
  'poll_count',
  'attention_reason',
];
const COLUMNS = PAYMENT_COLUMNS.join(', ');

/** A start statement's answer: what it did, and for `keyed` what the key's payment says of its request. */
interface StartRow extends PaymentRow {
  kind: PaymentStart['kind'];
  idempotency_request_hash: string | null;
  expired: boolean;
  running: boolean;
  next_action: string | null;
}

/**
 * The payment that the Idempotency-Key ($scope, $key) made, with its request's hash, whether
 * the key is older than $ttl hours, whether its request still runs (no PSP id, touched less
 * than $lockMs ago) and the nextAction of its first answer. A CTE of the start statements.
 */
function keyedCte(scope: string, key: string, ttl: string, lockMs: string): string {
  return `keyed AS (
         SELECT ${PAYMENT_COLUMNS.map((c) => `p.${c}`).join(', ')}, p.idempotency_request_hash,
                p.created_at < now() - make_interval(hours => ${ttl}::int) AS expired,
                (p.status = 'processing' AND p.psp_payment_id IS NULL
                   AND p.updated_at > now() - make_interval(secs => ${lockMs}::int / 1000.0)) AS running,
                (SELECT t.detail->>'nextAction' FROM payment_timeline t
                  WHERE t.payment_id = p.id AND t.type = 'psp_accepted' ORDER BY t.id LIMIT 1) AS next_action
           FROM payments p
          WHERE ${key}::text IS NOT NULL AND p.idempotency_scope = ${scope} AND p.idempotency_key = ${key}
       )`;
}

/** The start statements' answer rows, the key's payment last (their columns: StartRow's). */
const NOT_KEYED = `NULL::text AS idempotency_request_hash, false AS expired, false AS running, NULL::text AS next_action`;

function startOf(row: StartRow): PaymentStart {
  const payment = paymentOf(row);
  if (row.kind !== 'keyed') return { kind: row.kind, payment };
  return {
    kind: 'keyed',
    keyed: { payment, requestHash: row.idempotency_request_hash!, running: row.running, nextAction: row.next_action },
  };
}

/** A payment from its raw row, as TypeORM would read it. */
function paymentOf(row: PaymentRow): Payment {
  return Object.assign(new Payment(), {
    id: row.id,
    orderId: row.order_id,
    status: row.status,
    strategy: row.strategy,
    paymentMethod: row.payment_method,
    amount: Number(row.amount),
    currency: row.currency,
    pspPaymentId: row.psp_payment_id,
    resolvedVia: row.resolved_via,
    failureReason: row.failure_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    resolvedAt: row.resolved_at,
    nextPollAt: row.next_poll_at,
    pollCount: row.poll_count,
    attentionReason: row.attention_reason,
  });
}

@Injectable()
export class TypeormPaymentsRepository extends PaymentsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  async start(
    manager: EntityManager,
    payment: NewPayment,
    detail: Record<string, unknown>,
    key: RequestKey | null,
  ): Promise<PaymentStart> {
    for (let attempt = 0; attempt < 2; attempt++) {
      // The order is locked by the caller's earlier statement, so this statement's snapshot
      // sees every payment of the order committed before the lock was granted.
      const [row] = await preparedQuery<StartRow>(
        manager,
        'hookline_payments_start',
        `WITH ${keyedCte('$8', '$9', '$11', '$12')}, in_flight AS (
           SELECT ${COLUMNS} FROM payments
            WHERE order_id = $1 AND status = 'processing' AND NOT EXISTS (SELECT 1 FROM keyed)
            ORDER BY created_at LIMIT 1
         ), resumed AS (
           UPDATE payments p SET idempotency_scope = $8, idempotency_key = $9, idempotency_request_hash = $10,
                  updated_at = now()
             FROM in_flight f
            WHERE p.id = f.id AND f.psp_payment_id IS NULL AND p.idempotency_key IS NULL AND $9::text IS NOT NULL
         ), created AS (
           INSERT INTO payments (order_id, status, strategy, payment_method, amount, currency,
                                 idempotency_scope, idempotency_key, idempotency_request_hash)
           SELECT $1, $2, $3, $4, $5, $6, $8, $9, $10
            WHERE NOT EXISTS (SELECT 1 FROM in_flight) AND NOT EXISTS (SELECT 1 FROM keyed)
           RETURNING ${COLUMNS}
         ), timeline AS (
           INSERT INTO payment_timeline (payment_id, type, at, detail)
           SELECT id, 'created', created_at, $7::jsonb FROM created
         )
         SELECT 'created' AS kind, c.*, ${NOT_KEYED} FROM created c
         UNION ALL SELECT 'in_flight', f.*, ${NOT_KEYED} FROM in_flight f
         UNION ALL SELECT 'keyed', k.* FROM keyed k`,
        [
          payment.orderId,
          payment.status,
          payment.strategy,
          payment.paymentMethod,
          payment.amount,
          payment.currency,
          JSON.stringify(detail),
          key?.scope ?? null,
          key?.key ?? null,
          key?.requestHash ?? null,
          key?.ttlHours ?? 0,
          IDEMPOTENCY_LOCK_TIMEOUT_MS,
        ],
      );
      if (row.kind === 'keyed' && row.expired) {
        await this.releaseKey(manager, row.id, key!);
        continue;
      }
      return startOf(row);
    }
    throw new Error(`Idempotency-Key ${key?.key}: still taken after it was released`);
  }

  async tryStart(
    orderId: string,
    payment: Pick<NewPayment, 'strategy' | 'paymentMethod'>,
    payableStatuses: readonly string[],
    key: RequestKey | null,
  ): Promise<Exclude<PaymentStart, { kind: 'in_flight' }> | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      // The order's row lock serialises this with the order's own moves, as lockForPayment
      // does; in_flight reads the statement's snapshot, and a start that snapshot cannot see
      // yet is caught by a unique index (idx_payments_one_processing, or the key's): nothing
      // inserted. The key's payment answers whatever the order's state.
      const [row] = await preparedQuery<StartRow>(
        this.db.manager,
        'hookline_payments_try_start',
        `WITH o AS (
           SELECT id, status, amount, currency FROM orders WHERE id = $1 FOR UPDATE
         ), ${keyedCte('$5', '$6', '$8', '$9')}, created AS (
           INSERT INTO payments (order_id, status, strategy, payment_method, amount, currency,
                                 idempotency_scope, idempotency_key, idempotency_request_hash)
           SELECT o.id, 'processing', $2, $3, o.amount, o.currency, $5, $6, $7 FROM o
            WHERE o.status = ANY($4::text[])
              AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = $1 AND p.status = 'processing')
              AND NOT EXISTS (SELECT 1 FROM keyed)
           ON CONFLICT DO NOTHING
           RETURNING ${COLUMNS}
         ), timeline AS (
           INSERT INTO payment_timeline (payment_id, type, at, detail)
           SELECT id, 'created', created_at, jsonb_build_object('orderId', order_id, 'strategy', strategy) FROM created
         )
         SELECT 'created' AS kind, c.*, ${NOT_KEYED} FROM created c
         UNION ALL SELECT 'keyed', k.* FROM keyed k`,
        [
          orderId,
          payment.strategy,
          payment.paymentMethod,
          payableStatuses,
          key?.scope ?? null,
          key?.key ?? null,
          key?.requestHash ?? null,
          key?.ttlHours ?? 0,
          IDEMPOTENCY_LOCK_TIMEOUT_MS,
        ],
      );
      if (!row) return null;
      if (row.kind === 'keyed' && row.expired) {
        await this.releaseKey(this.db.manager, row.id, key!);
        continue;
      }
      return startOf(row) as Exclude<PaymentStart, { kind: 'in_flight' }>;
    }
    return null;
  }

  async takeOver(id: string): Promise<boolean> {
    const taken = await this.db.query<{ id: string }[]>(
      // (A CTE because TypeORM's query() answers a bare UPDATE with [rows, count].)
      `WITH taken AS (
         UPDATE payments SET updated_at = now()
          WHERE id = $1 AND status = 'processing' AND psp_payment_id IS NULL
            AND updated_at < now() - make_interval(secs => $2::int / 1000.0)
          RETURNING id)
       SELECT id FROM taken`,
      [id, IDEMPOTENCY_LOCK_TIMEOUT_MS],
    );
    return taken.length > 0;
  }

  async releaseKey(manager: EntityManager, id: string, key: Pick<RequestKey, 'scope' | 'key'>): Promise<void> {
    await manager.query(
      `UPDATE payments SET idempotency_scope = NULL, idempotency_key = NULL, idempotency_request_hash = NULL
        WHERE id = $1 AND idempotency_scope = $2 AND idempotency_key = $3`,
      [id, key.scope, key.key],
    );
  }

  async markAccepted(
    manager: EntityManager,
    id: string,
    pspPaymentId: string,
    nextPollAt: Date,
    entry: { at: Date; detail: Record<string, unknown> },
    traceparent: string | null = null,
  ): Promise<void> {
    await preparedQuery(
      manager,
      'hookline_payments_accepted',
      `WITH accepted AS (
         UPDATE payments SET psp_payment_id = $2, next_poll_at = $3, updated_at = now(), trace_context = $6 WHERE id = $1
       )
       INSERT INTO payment_timeline (payment_id, type, at, detail) VALUES ($1, 'psp_accepted', $4, $5::jsonb)`,
      [id, pspPaymentId, nextPollAt, entry.at, JSON.stringify(entry.detail), traceparent],
    );
  }

  async traceContextsOf(pspPaymentIds: string[]): Promise<Map<string, string>> {
    if (pspPaymentIds.length === 0) return new Map();
    const rows = await this.db.query<{ psp_payment_id: string; trace_context: string }[]>(
      `SELECT psp_payment_id, trace_context FROM payments
        WHERE psp_payment_id = ANY($1::text[]) AND trace_context IS NOT NULL`,
      [pspPaymentIds],
    );
    return new Map(rows.map((r) => [r.psp_payment_id, r.trace_context]));
  }

  async markRejected(manager: EntityManager, id: string, failureReason: string, at: Date): Promise<void> {
    await manager.update(Payment, { id, status: 'processing' }, { status: 'failed', failureReason, resolvedAt: at });
  }

  findById(id: string): Promise<Payment | null> {
    return this.db.manager.findOneBy(Payment, { id });
  }

  timelineOf(paymentId: string): Promise<PaymentTimelineEntry[]> {
    return this.db.manager.find(PaymentTimelineEntry, { where: { paymentId }, order: { id: 'ASC' } });
  }

  lockForResults(manager: EntityManager, ids: string[], pspPaymentIds: string[]): Promise<LockedPayment[]> {
    return preparedQuery<LockedPayment>(
      manager,
      'hookline_payments_lock',
      `SELECT id, order_id, status, amount, currency, psp_payment_id FROM payments
        WHERE id = ANY($1::uuid[]) OR psp_payment_id = ANY($2::text[])
        ORDER BY id FOR UPDATE`,
      [ids, pspPaymentIds],
    );
  }

  async findId(manager: EntityManager, by: { id: string } | { pspPaymentId: string }): Promise<string | null> {
    const [payment] = await manager.query<{ id: string }[]>(
      'id' in by ? `SELECT id FROM payments WHERE id = $1` : `SELECT id FROM payments WHERE psp_payment_id = $1`,
      ['id' in by ? by.id : by.pspPaymentId],
    );
    return payment?.id ?? null;
  }

  async writeTimeline(
    manager: EntityManager,
    entries: NewTimelineEntry[],
    resolve?: { moved: ResolvedPayment[]; at: Date },
    also: readonly SqlPart[] = [],
  ): Promise<void> {
    const moved = resolve?.moved ?? [];
    if (entries.length === 0 && moved.length === 0 && also.length === 0) return;
    const timeline = timelineParams(entries);
    if (moved.length === 0 && also.length === 0) {
      await preparedQuery(manager, 'hookline_timeline_insert', TIMELINE_INSERT, timeline);
      return;
    }
    // The payments' UPDATE and the other parts as CTEs of the INSERT: one statement.
    const ctes = appendParts(
      {
        name: moved.length > 0 ? 'hookline_payments_resolve_timeline' : 'hookline_timeline_insert',
        ctes: '',
        params: timeline,
      },
      [...(moved.length > 0 ? [resolvePart(moved, resolve!.at)] : []), ...also],
    );
    await preparedQuery(manager, ctes.name, `WITH ${ctes.ctes.replace(/^,\n/, '')}\n${TIMELINE_INSERT}`, ctes.params);
    confirmParts(also);
  }

  resolveTimelinePart(
    entries: NewTimelineEntry[],
    outcomeOf: (string | null)[],
    resolve: { moved: ResolvedPayment[]; at: Date },
  ): SqlPart {
    const timeline = timelineParams(entries);
    const resolved = resolvePart(resolve.moved, resolve.at);
    return {
      name: 'timeline',
      ctes: `${resolved.ctes},
       timeline_insert AS (
         INSERT INTO payment_timeline (payment_id, type, at, detail)
         SELECT t.payment_id, t.type, t.at,
                CASE WHEN t.order_id IS NULL THEN d.detail
                     WHEN o.changed THEN jsonb_build_object('orderId', t.order_id, 'from', o.from_status, 'to', o.to_status)
                     ELSE jsonb_build_object('orderId', t.order_id, 'unchanged', o.from_status,
                                             'reason', 'order is ' || o.from_status || '; it cannot become ' || o.to_status)
                END
           FROM unnest($6::uuid[], $7::text[], $8::timestamptz[], $10::uuid[])
                  WITH ORDINALITY AS t(payment_id, type, at, order_id, n)
           JOIN jsonb_array_elements($9::jsonb) WITH ORDINALITY AS d(detail, n) USING (n)
           LEFT JOIN order_outcome o ON o.id = t.order_id
          ORDER BY n
       )`,
      params: [...resolved.params, ...timeline, outcomeOf],
    };
  }

  inboxCoLock(): InboxCoLock {
    return { name: 'payments', sql: INBOX_CO_LOCK };
  }

  async msUntilNextPoll(): Promise<number | null> {
    // One statement on the partial index idx_payments_next_poll, outside a transaction.
    const [row] = await this.db.query<{ ms: number | null }[]>(
      `SELECT (extract(epoch FROM min(next_poll_at) - now()) * 1000)::float8 AS ms
         FROM payments WHERE status = 'processing' AND next_poll_at IS NOT NULL`,
    );
    return row.ms === null ? null : Number(row.ms);
  }

  claimDuePolls(limit: number, leaseS: number): Promise<ClaimedPoll[]> {
    return this.db.transaction(async (manager) => {
      const rows: ClaimedPoll[] = await manager.query(
        `SELECT id, poll_count, strategy FROM payments
          WHERE status = 'processing' AND next_poll_at IS NOT NULL AND next_poll_at <= now()
          ORDER BY next_poll_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length === 0) return [];
      await manager.query(
        `UPDATE payments SET next_poll_at = now() + make_interval(secs => $2) WHERE id = ANY($1::uuid[])`,
        [rows.map((r) => r.id), leaseS],
      );
      return rows;
    });
  }

  async schedulePoll(id: string, pollCount: number, at: Date): Promise<void> {
    await this.db.getRepository(Payment).update({ id, status: 'processing' }, { pollCount, nextPollAt: at });
  }

  async fetchNow(manager: EntityManager, pspPaymentIds: string[]): Promise<{ id: string; pspPaymentId: string }[]> {
    if (pspPaymentIds.length === 0) return [];
    const rows: { id: string; psp_payment_id: string }[] = await manager.query(
      // In a CTE: TypeORM answers an UPDATE's rows as [rows, count].
      `WITH due AS (
         UPDATE payments SET next_poll_at = now()
          WHERE psp_payment_id = ANY($1::text[]) AND status = 'processing' AND strategy = 'thin_webhook'
          RETURNING id, psp_payment_id
       )
       SELECT * FROM due`,
      [pspPaymentIds],
    );
    return rows.map((r) => ({ id: r.id, pspPaymentId: r.psp_payment_id }));
  }

  async stopPolling(id: string, pollCount: number, attentionReason: string, manager?: EntityManager): Promise<void> {
    await (manager ?? this.db.manager)
      .getRepository(Payment)
      .update({ id, status: 'processing' }, { pollCount, nextPollAt: null, attentionReason });
  }

  async finishPolling(manager: EntityManager, id: string, pollCount: number): Promise<void> {
    await manager.update(Payment, id, { pollCount, nextPollAt: null });
  }

  async ensureCursor(source: string): Promise<void> {
    await this.db.query(
      `INSERT INTO reconciliation_cursors (source, cursor) VALUES ($1, NULL) ON CONFLICT (source) DO NOTHING`,
      [source],
    );
  }

  async lockCursor(manager: EntityManager, source: string): Promise<{ cursor: string | null } | undefined> {
    const locked: { cursor: string | null }[] = await manager.query(
      `SELECT cursor FROM reconciliation_cursors WHERE source = $1 FOR UPDATE SKIP LOCKED`,
      [source],
    );
    return locked[0];
  }

  async saveCursor(manager: EntityManager, source: string, cursor: string): Promise<void> {
    await manager.query(`UPDATE reconciliation_cursors SET cursor = $2, updated_at = now() WHERE source = $1`, [
      source,
      cursor,
    ]);
  }
}

/** TIMELINE_INSERT's parameters. */
function timelineParams(entries: NewTimelineEntry[]): unknown[] {
  return [
    entries.map((e) => e.paymentId),
    entries.map((e) => e.type),
    entries.map((e) => e.at),
    // One JSON array rather than a jsonb[] literal: no quoting of every element by pg.
    JSON.stringify(entries.map((e) => e.detail)),
  ];
}

/** The payments' resolving UPDATE as a CTE (`resolved`). */
function resolvePart(moved: ResolvedPayment[], at: Date): SqlPart {
  return {
    name: 'resolve',
    ctes: `resolved AS (
         ${RESOLVE_UPDATE}
       )`,
    params: [
      moved.map((r) => r.id),
      moved.map((r) => r.status),
      moved.map((r) => r.resolved_via),
      moved.map((r) => r.psp_payment_id),
      at,
    ],
  };
}
