import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { preparedQuery } from '../../common/db/prepared-query.js';
import type { RequestKey } from '../../http/idempotency/idempotency-on-row.interceptor.js';
import type { OutboxSource } from '../../webhooks/outbound/webhook-outbox.js';
import { PspPayment, type PspPaymentStatus } from '../psp-payment.entity.js';
import {
  PspPaymentsRepository,
  type CreatedPspPayment,
  type NewPspPayment,
  type PspPaymentRow,
  type Settlement,
} from '../psp-payments.repository.js';

/**
 * A payment's INSERT, or with an Idempotency-Key ($10 scope, $11 key, $12 request hash)
 * already used, the payment it made: `created` false, `expired` when that use is older
 * than $13 hours. No row when the key's payment was committed after this statement's
 * snapshot was taken (a concurrent first use): the caller runs it again.
 */
const CREATE_SQL = `
WITH created AS (
  INSERT INTO psp_payments (id, amount, currency, status, payment_method, callback_url, metadata, requests_served,
                            event_format, idempotency_scope, idempotency_key, idempotency_request_hash, trace_context)
  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $14)
  ON CONFLICT (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id, amount, currency, payment_method, callback_url, metadata, created_at, requests_served, event_format,
            trace_context, idempotency_request_hash
)
SELECT true AS created, false AS expired, * FROM created
UNION ALL
SELECT false, p.created_at < now() - make_interval(hours => $13::int),
       p.id, p.amount, p.currency, p.payment_method, p.callback_url, p.metadata, p.created_at, p.requests_served,
       p.event_format, p.trace_context, p.idempotency_request_hash
  FROM psp_payments p
 WHERE $11::text IS NOT NULL AND p.idempotency_scope = $10 AND p.idempotency_key = $11
   AND NOT EXISTS (SELECT 1 FROM created)`;

const PAYMENT_COLUMNS =
  'id, amount, currency, payment_method, callback_url, metadata, created_at, requests_served, event_format, trace_context';

/**
 * The settlement's own share of its statement (WebhookOutbox.publishWithin appends the
 * message and its deliveries): the payment moves only while still processing (its row
 * lock makes a concurrent settle find it settled and write nothing), and its event is
 * inserted only if it moved. $1 payment id, $2 status, $3 settled at, $4 event id,
 * $5 type, $6 payload, $7 callback URL, $8 delivery status, $9 the settlement's traceparent.
 */
const SETTLE_CTES = `
settled AS (
  UPDATE psp_payments SET status = $2, settled_at = $3
   WHERE id = $1 AND status = 'processing' AND EXISTS (SELECT 1 FROM outbox_ready)
  RETURNING id
), outbox_event AS (
  INSERT INTO psp_events (id, type, payment_id, payload, created_at, callback_url, delivery_status, delivery_attempts)
  SELECT $4, $5, settled.id, $6::jsonb, $3, $7, $8, 0 FROM settled
  RETURNING id AS event_id, type AS event_type, payload, $9::text AS trace_context
)`;

@Injectable()
export class TypeormPspPaymentsRepository extends PspPaymentsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  get manager(): EntityManager {
    return this.db.manager;
  }

  async create(
    payment: NewPspPayment,
    key: RequestKey | null,
    traceContext: string | null,
  ): Promise<CreatedPspPayment | undefined> {
    const [row] = await preparedQuery<CreatedPspPayment>(this.db.manager, 'hookline_psp_payments_create', CREATE_SQL, [
      payment.id,
      payment.amount,
      payment.currency,
      payment.status,
      payment.paymentMethod,
      payment.callbackUrl,
      JSON.stringify(payment.metadata),
      payment.requestsServed,
      payment.eventFormat,
      key?.scope ?? null,
      key?.key ?? null,
      key?.requestHash ?? null,
      key?.ttlHours ?? 0,
      traceContext,
    ]);
    return row;
  }

  async releaseKey(id: string): Promise<void> {
    await this.db.query(`UPDATE psp_payments SET idempotency_key = NULL WHERE id = $1`, [id]);
  }

  async countServed(id: string): Promise<PspPaymentStatus | null> {
    const rows: PspPayment[] = await this.db
      .createQueryBuilder()
      .update(PspPayment)
      .set({ requestsServed: () => 'requests_served + 1' })
      .where('id = :id', { id })
      .returning('*')
      .execute()
      .then((r) => r.raw as PspPayment[]);
    return rows.length === 0 ? null : rows[0].status;
  }

  getById(id: string): Promise<PspPayment> {
    return this.db.getRepository(PspPayment).findOneByOrFail({ id });
  }

  async findUnsettled(id: string): Promise<PspPaymentRow | undefined> {
    const [row] = await preparedQuery<PspPaymentRow>(
      this.db.manager,
      'hookline_psp_payments_unsettled',
      `SELECT ${PAYMENT_COLUMNS} FROM psp_payments WHERE id = $1 AND status = 'processing'`,
      [id],
    );
    return row;
  }

  settlementSource(s: Settlement): OutboxSource {
    return {
      name: 'hookline_psp_settle',
      ctes: SETTLE_CTES,
      params: [
        s.paymentId,
        s.status,
        s.at,
        s.event.id,
        s.event.type,
        JSON.stringify(s.event.payload),
        s.event.callbackUrl,
        s.event.deliveryStatus,
        s.traceContext,
      ],
    };
  }

  async findOverdue(graceMs: number, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM psp_payments WHERE status = 'processing' AND created_at < now() - make_interval(secs => $1 / 1000.0)
       ORDER BY created_at LIMIT $2`,
      [graceMs, limit],
    );
    return rows.map((r) => r.id);
  }
}
