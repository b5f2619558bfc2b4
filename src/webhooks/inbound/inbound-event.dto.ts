import { DomainError } from '../../common/errors/domain-error.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validateSync, isISO8601, IsISO8601, IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsSafeText } from '../../common/validation/safe-text.js';
import { IsStorableJson, storableJsonProblem } from '../../common/validation/storable-json.js';

const TYPE_PATTERN = /^[a-z][a-z0-9_.]{0,99}$/;

/** The event envelope every inbound source sends: `event_id` + `type` + `data`. */
export class InboundEventDto {
  @ApiProperty({ example: 'evt_3a9f0c6b2d1e4f5a6b7c8d9e' })
  @IsString()
  @Length(1, 255)
  @IsSafeText()
  event_id: string;

  @ApiProperty({ example: 'payment.completed' })
  @IsString()
  @Matches(TYPE_PATTERN, { message: 'type must be a dotted lowercase event type' })
  type: string;

  @ApiPropertyOptional({ example: '2026-11-28T12:00:00.000Z' })
  @IsOptional()
  @IsISO8601()
  created_at?: string;

  @ApiProperty({
    example: {
      payment_id: 'pay_0f1e2d3c4b5a69788796a5b4',
      status: 'completed',
      amount: 2598,
      currency: 'USD',
      metadata: { orderId: '6d1c…', paymentId: '9b2e…' },
    },
  })
  @IsObject()
  @IsStorableJson({ maxDepth: 32 })
  data: Record<string, unknown>;
}

export class WebhookAckDto {
  @ApiProperty({ enum: ['accepted', 'duplicate'] })
  status: 'accepted' | 'duplicate';
  @ApiProperty()
  eventId: string;
}

/** Printable ASCII without space: safe text whose length is its character count. */
const PLAIN_ID = /^[\x21-\x7e]{1,255}$/;

/**
 * The common case, checked without class-transformer and class-validator's metadata
 * walk (about a tenth of the receiver's CPU under load): true only for envelopes the DTO
 * accepts — a plain ASCII event_id, a valid type, created_at absent or ISO 8601 (the
 * same isISO8601), data an object (its storability is implied by the whole body's,
 * checked before). Anything else goes through the full validation, which decides.
 */
export function plainlyValid(body: Record<string, unknown>): boolean {
  const { event_id, type, created_at, data } = body;
  return (
    typeof event_id === 'string' &&
    PLAIN_ID.test(event_id) &&
    typeof type === 'string' &&
    TYPE_PATTERN.test(type) &&
    (created_at === undefined || (typeof created_at === 'string' && isISO8601(created_at))) &&
    typeof data === 'object' &&
    data !== null &&
    !Array.isArray(data)
  );
}

/** Checks the envelope of a signed body; the whole body (unknown fields too) is what gets stored. */
export function parseInboundEvent(body: unknown): InboundEventDto & Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DomainError('WEBHOOK.MALFORMED_EVENT', 400, 'Malformed event', 'The body must be a JSON object.');
  }
  // The whole body is stored as jsonb, unknown fields included: all of it must be storable.
  const unstorable = storableJsonProblem(body);
  if (unstorable) throw new DomainError('WEBHOOK.MALFORMED_EVENT', 400, 'Malformed event', unstorable);
  if (plainlyValid(body as Record<string, unknown>)) return body as InboundEventDto & Record<string, unknown>;
  const errors = validateSync(plainToInstance(InboundEventDto, body));
  if (errors.length > 0) {
    const detail = errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ');
    throw new DomainError('WEBHOOK.MALFORMED_EVENT', 400, 'Malformed event', detail);
  }
  return body as InboundEventDto & Record<string, unknown>;
}
