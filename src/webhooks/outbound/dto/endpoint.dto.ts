import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsDateString,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { PageQuery } from '../../../common/pagination/page.query.js';
import { IsSafeText } from '../../../common/validation/safe-text.js';
import {
  DELIVERY_STATUSES,
  ENDPOINT_STATUSES,
  type DeliveryStatus,
  type EndpointKind,
  type EndpointStatus,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookMessage,
} from '../outbound.entities.js';

/** A type (order.paid) or a wildcard over a prefix (order.*). */
const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.([a-z][a-z0-9_]*|\*)$/;
const URL_OPTIONS = {
  require_protocol: true,
  protocols: ['http', 'https'],
  require_tld: false,
  allow_underscores: true,
};

export class CreateEndpointDto {
  @ApiProperty({ example: 'https://merchant.example/webhooks', description: 'http(s) URL the messages are POSTed to' })
  @IsString()
  @MaxLength(2048)
  @IsUrl(URL_OPTIONS, { message: 'url must be an http(s) URL' })
  url: string;

  @ApiPropertyOptional({ example: 'Order notifications for the ERP', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  @IsSafeText({ allowBlank: true })
  description?: string;

  @ApiPropertyOptional({
    type: [String],
    nullable: true,
    example: ['order.paid', 'order.payment_failed'],
    description:
      'Event types to receive (GET /event-types lists them), or wildcards over a prefix such as order.*; ' +
      'omitted or null: every type except the operational ones (endpoint.disabled, …), which must be named. ' +
      'A type the catalog does not hold is 422 WEBHOOK_ENDPOINT.UNKNOWN_EVENT_TYPE.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(EVENT_TYPE, { each: true, message: 'each event type must look like order.paid or order.*' })
  eventTypes?: string[] | null;

  @ApiPropertyOptional({ nullable: true, minimum: 1, maximum: 10000, description: 'Deliveries per second at most' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  rateLimitPerS?: number | null;
}

export class UpdateEndpointDto extends CreateEndpointDto {
  @ApiPropertyOptional({ example: 'https://merchant.example/webhooks' })
  @IsOptional()
  declare url: string;

  @ApiPropertyOptional({
    enum: ENDPOINT_STATUSES,
    description: 'enabled re-enables a disabled endpoint (it gets new messages; recover re-sends older ones)',
  })
  @IsOptional()
  @IsIn(ENDPOINT_STATUSES)
  status?: EndpointStatus;
}

export class EndpointDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ enum: ['registered', 'callback'], description: 'callback: a payment callback_url (PSP mock)' })
  kind: EndpointKind;
  @ApiProperty()
  url: string;
  @ApiProperty()
  description: string;
  @ApiProperty({ type: [String], nullable: true })
  eventTypes: string[] | null;
  @ApiProperty({ enum: ENDPOINT_STATUSES })
  status: EndpointStatus;
  @ApiProperty({ nullable: true, type: String, description: 'Why it is disabled' })
  disabledReason: string | null;
  @ApiProperty({ nullable: true, type: String })
  disabledAt: string | null;
  @ApiProperty({ nullable: true, type: Number })
  rateLimitPerS: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Failing without a success since then' })
  failingSince: string | null;
  @ApiProperty({ nullable: true, type: String })
  lastSuccessAt: string | null;
  @ApiProperty()
  createdAt: string;

  static from(e: WebhookEndpoint): EndpointDto {
    return {
      id: e.id,
      kind: e.kind,
      url: e.url,
      description: e.description,
      eventTypes: e.eventTypes,
      status: e.status,
      disabledReason: e.disabledReason,
      disabledAt: e.disabledAt?.toISOString() ?? null,
      rateLimitPerS: e.rateLimitPerS,
      failingSince: e.failingSince?.toISOString() ?? null,
      lastSuccessAt: e.lastSuccessAt?.toISOString() ?? null,
      createdAt: e.createdAt.toISOString(),
    };
  }
}

export class EndpointWithSecretDto extends EndpointDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'Signing secret (Standard Webhooks)' })
  secret: string;
}

export class RotatedSecretDto {
  @ApiProperty({ example: 'whsec_…', description: 'The new signing secret' })
  secret: string;
  @ApiProperty({ description: 'Until then the previous secret signs too (two signatures in webhook-signature)' })
  previousSecretExpiresAt: string;
}

export class RevealedSecretDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'The current signing secret' })
  secret: string;
  @ApiPropertyOptional({ description: 'The secret before the last rotation, while it still signs' })
  previousSecret?: string;
  @ApiPropertyOptional({ description: 'Until then the previous secret signs too' })
  previousSecretExpiresAt?: string;
}

export class EndpointPageDto {
  @ApiProperty({ type: [EndpointDto] })
  data: EndpointDto[];
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Pass as `cursor` for the next page' })
  nextCursor: string | null;
}

export class DeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class RecoverDto {
  @ApiProperty({ example: '2026-11-28T00:00:00Z', description: 'Re-send the failed deliveries created since then' })
  @IsDateString({ strict: true })
  since: string;
}

export class AttemptDto {
  @ApiProperty()
  number: number;
  @ApiProperty()
  startedAt: string;
  @ApiProperty()
  durationMs: number;
  @ApiProperty({ nullable: true, type: Number })
  statusCode: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'First 1 KB of the answer' })
  responseExcerpt: string | null;
  @ApiProperty({ nullable: true, type: String })
  error: string | null;
  @ApiProperty()
  succeeded: boolean;

  static from(a: WebhookAttempt): AttemptDto {
    return {
      number: a.number,
      startedAt: a.startedAt.toISOString(),
      durationMs: a.durationMs,
      statusCode: a.statusCode,
      responseExcerpt: a.responseExcerpt,
      error: a.error,
      succeeded: a.succeeded,
    };
  }
}

export class DeliveryDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  endpointId: string;
  @ApiProperty({ example: 'evt_…', description: 'The webhook-id the endpoint sees' })
  eventId: string;
  @ApiProperty({ example: 'order.paid' })
  eventType: string;
  @ApiProperty({ enum: DELIVERY_STATUSES })
  status: DeliveryStatus;
  @ApiProperty()
  attempts: number;
  @ApiProperty({ nullable: true, type: String })
  nextAttemptAt: string | null;
  @ApiProperty({ nullable: true, type: Number })
  lastStatusCode: number | null;
  @ApiProperty({ nullable: true, type: String })
  lastError: string | null;
  @ApiProperty()
  createdAt: string;
  @ApiProperty({ nullable: true, type: String })
  succeededAt: string | null;

  static from(d: WebhookDelivery & { message?: WebhookMessage }): DeliveryDto {
    return {
      id: d.id,
      endpointId: d.endpointId,
      eventId: d.message?.eventId ?? '',
      eventType: d.message?.eventType ?? '',
      status: d.status,
      attempts: d.attempts,
      nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
      lastStatusCode: d.lastStatusCode,
      lastError: d.lastError,
      createdAt: d.createdAt.toISOString(),
      succeededAt: d.succeededAt?.toISOString() ?? null,
    };
  }
}

export class DeliveryWithAttemptsDto extends DeliveryDto {
  @ApiProperty({ description: 'The message body as sent' })
  payload: Record<string, unknown>;
  @ApiProperty({ type: [AttemptDto] })
  attemptHistory: AttemptDto[];
}

export class DeliveryPageDto {
  @ApiProperty({ type: [DeliveryDto] })
  data: DeliveryDto[];
  @ApiPropertyOptional({ nullable: true, type: String })
  nextCursor: string | null;
}

export class TestSentDto {
  @ApiProperty({ example: 'evt_…' })
  eventId: string;
  @ApiProperty({ format: 'uuid' })
  deliveryId: string;
}

export class RecoveredDto {
  @ApiProperty({ description: 'Failed deliveries put back on the schedule' })
  recovered: number;
}

export class ResentDto {
  @ApiProperty({ description: 'Deliveries of the event put back on the schedule' })
  resent: number;
}
