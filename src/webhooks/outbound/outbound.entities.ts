import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** Who sends: the shop (to merchants' endpoints) or the PSP mock (to callback URLs and its endpoints). */
export const OUTBOUND_OWNERS = ['shop', 'psp'] as const;
export type OutboundOwner = (typeof OUTBOUND_OWNERS)[number];

export const ENDPOINT_STATUSES = ['enabled', 'disabled'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

/**
 * registered: created through a management API, signed with its own secret.
 * callback: a payment's callback_url (PSP mock), signed with the publisher's secret.
 */
export type EndpointKind = 'registered' | 'callback';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Where messages go. Deleting one deletes its deliveries and their attempts. */
@Entity('webhook_endpoints')
@Index('idx_webhook_endpoints_owner', ['owner', 'createdAt'])
@Index('uq_webhook_endpoints_callback', ['owner', 'url'], { unique: true, where: "kind = 'callback'" })
@Check(
  'chk_webhook_endpoints_sealing_key',
  '(secret_sealed IS NULL AND previous_secret_sealed IS NULL) OR sealing_key_id IS NOT NULL',
)
export class WebhookEndpoint {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  owner: OutboundOwner;

  @Column({ type: 'text', default: 'registered' })
  kind: EndpointKind;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'text', default: '' })
  description: string;

  /** Event types this endpoint receives; null means every (non-operational) type. */
  @Column({ name: 'event_types', type: 'text', array: true, nullable: true })
  eventTypes: string[] | null;

  @Column({ type: 'text', default: 'enabled' })
  status: EndpointStatus;

  @Column({ name: 'disabled_reason', type: 'text', nullable: true })
  disabledReason: string | null;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  /**
   * The signing secret (`whsec_…`) sealed at rest (signing-secrets.ts); null for callback
   * endpoints (the publisher signs). The plaintext is answered only at creation, rotation
   * and by the reveal route.
   */
  @Column({ name: 'secret_sealed', type: 'text', nullable: true })
  sealedSecret: string | null;

  /** The secret before the last rotation, sealed; it signs too until `previous_secret_expires_at`. */
  @Column({ name: 'previous_secret_sealed', type: 'text', nullable: true })
  sealedPreviousSecret: string | null;

  /** The SEALING_KEYS key id both sealed secrets are sealed under (npm run secrets:reseal moves rows to the first). */
  @Column({ name: 'sealing_key_id', type: 'text', nullable: true })
  sealingKeyId: string | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt: Date | null;

  /** Deliveries per second at most; null: no limit. */
  @Column({ name: 'rate_limit_per_s', type: 'int', nullable: true })
  rateLimitPerS: number | null;

  /** Start of the current run of failures (no success since); null while healthy. */
  @Column({ name: 'failing_since', type: 'timestamptz', nullable: true })
  failingSince: Date | null;

  @Column({ name: 'last_success_at', type: 'timestamptz', nullable: true })
  lastSuccessAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}

/** One event a publisher sent, once, whatever the number of endpoints. */
@Entity('webhook_messages')
@Index('uq_webhook_messages_event', ['owner', 'eventId'], { unique: true })
// What the retention deletes by (a B-tree: a BRIN index degrades once deleted rows' space is reused).
@Index('idx_webhook_messages_created', ['createdAt'])
export class WebhookMessage {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  owner: OutboundOwner;

  /** The publisher's event id: the `webhook-id` header, the receiver's idempotency key. */
  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  /** W3C traceparent of what published it (null with tracing off): each attempt is a span of that trace. */
  @Column({ name: 'trace_context', type: 'text', nullable: true })
  traceContext?: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}

/** A message to one endpoint: its state, and when it is tried next. Bull job id = this id. */
@Entity('webhook_deliveries')
@Index('uq_webhook_deliveries_message_endpoint', ['messageId', 'endpointId'], { unique: true })
@Index('idx_webhook_deliveries_endpoint', ['endpointId', 'createdAt'])
@Index('idx_webhook_deliveries_due', ['nextAttemptAt'], { where: "status = 'pending'" })
export class WebhookDelivery {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'message_id', type: 'uuid' })
  messageId: string;

  @ManyToOne(() => WebhookMessage, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'message_id' })
  message?: WebhookMessage;

  @Column({ name: 'endpoint_id', type: 'uuid' })
  endpointId: string;

  @ManyToOne(() => WebhookEndpoint, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'endpoint_id' })
  endpoint?: WebhookEndpoint;

  @Column({ type: 'text', default: 'pending' })
  status: DeliveryStatus;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;

  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true })
  lastAttemptAt: Date | null;

  @Column({ name: 'last_status_code', type: 'int', nullable: true })
  lastStatusCode: number | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'succeeded_at', type: 'timestamptz', nullable: true })
  succeededAt: Date | null;
}

/** One HTTP try of a delivery, kept for the history screen and the API. */
@Entity('webhook_attempts')
@Index('idx_webhook_attempts_delivery', ['deliveryId', 'startedAt'])
export class WebhookAttempt {
  @PrimaryColumn({ type: 'bigint', generated: 'increment' })
  id: string;

  @Column({ name: 'delivery_id', type: 'uuid' })
  deliveryId: string;

  @ManyToOne(() => WebhookDelivery, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'delivery_id' })
  delivery?: WebhookDelivery;

  @Column({ type: 'int' })
  number: number;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'duration_ms', type: 'int' })
  durationMs: number;

  @Column({ name: 'status_code', type: 'int', nullable: true })
  statusCode: number | null;

  /** The first bytes of the answer's body. */
  @Column({ name: 'response_excerpt', type: 'text', nullable: true })
  responseExcerpt: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'boolean' })
  succeeded: boolean;
}

export const OUTBOUND_ENTITIES = [WebhookEndpoint, WebhookMessage, WebhookDelivery, WebhookAttempt];
