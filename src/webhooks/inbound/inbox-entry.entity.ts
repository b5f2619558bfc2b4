import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** `dead`: failed INBOX_MAX_ATTEMPTS times; waits for a replay through the admin API. */
export const INBOX_STATUSES = ['received', 'processed', 'ignored', 'dead'] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

/**
 * Every verified inbound webhook, stored before the sender gets its 2xx. The unique
 * (source, event_id) makes a redelivery a no-op; `processed_at` marks it applied.
 */
@Entity('webhook_inbox')
@Index('uq_webhook_inbox_source_event', ['source', 'eventId'], { unique: true })
// Rows still to apply: what the backlog count and the sweeper read (dead rows are not).
@Index('idx_webhook_inbox_pending', ['receivedAt'], { where: 'processed_at IS NULL AND dead_at IS NULL' })
@Index('idx_webhook_inbox_dead', ['deadAt', 'id'], { where: 'dead_at IS NOT NULL' })
// What the retention deletes by; processed rows only, so the receiver's INSERT adds no entry.
@Index('idx_webhook_inbox_processed', ['processedAt'], { where: 'processed_at IS NOT NULL' })
// An expression index (the PSP payment id inside the payload), made by hand in a migration.
@Index('idx_webhook_inbox_psp_payment', { synchronize: false })
export class InboxEntry {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  source: string;

  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ type: 'text', default: 'received' })
  status: InboxStatus;

  /** Why an event was ignored, or what processing did. */
  @Column({ type: 'text', nullable: true })
  outcome: string | null;

  /** How the event reached the shop: pushed by the sender, or pulled by reconciliation. */
  @Column({ name: 'received_via', type: 'text', default: 'webhook' })
  receivedVia: 'webhook' | 'reconciliation';

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'verified_at', type: 'timestamptz' })
  verifiedAt: Date;

  @Column({ name: 'queued_at', type: 'timestamptz', nullable: true })
  queuedAt: Date | null;

  @Column({ name: 'processed_at', type: 'timestamptz', nullable: true })
  processedAt: Date | null;

  /** SHA-256 of the body as received (null for reconciliation and older rows): tells a redelivery with another body. */
  @Column({ name: 'body_sha256', type: 'bytea', nullable: true })
  bodySha256: Buffer | null;

  /** W3C traceparent of the request that delivered it (null with tracing off): its applying joins that trace. */
  @Column({ name: 'trace_context', type: 'text', nullable: true })
  traceContext: string | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** When the row was marked dead (status `dead`); null while it may still be applied. */
  @Column({ name: 'dead_at', type: 'timestamptz', nullable: true })
  deadAt: Date | null;
}
