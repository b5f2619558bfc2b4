import { DomainError } from '../../common/errors/domain-error.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validateSync, IsISO8601, IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsSafeText } from '../../common/validation/safe-text.js';
import { IsStorableJson, storableJsonProblem } from '../../common/validation/storable-json.js';

/** The event envelope every inbound source sends: `event_id` + `type` + `data`. */
export class InboundEventDto {
  @ApiProperty({ example: 'evt_3a9f0c6b2d1e4f5a6b7c8d9e' })
  @IsString()
  @Length(1, 255)
  @IsSafeText()
  event_id: string;

  @ApiProperty({ example: 'payment.completed' })
  @IsString()
  @Matches(/^[a-z][a-z0-9_.]{0,99}$/, { message: 'type must be a dotted lowercase event type' })
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

/** Checks the envelope of a signed body; the whole body (unknown fields too) is what gets stored. */
export function parseInboundEvent(body: unknown): InboundEventDto & Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DomainError('WEBHOOK.MALFORMED_EVENT', 400, 'Malformed event', 'The body must be a JSON object.');
  }
  // The whole body is stored as jsonb, unknown fields included: all of it must be storable.
  const unstorable = storableJsonProblem(body);
  if (unstorable) throw new DomainError('WEBHOOK.MALFORMED_EVENT', 400, 'Malformed event', unstorable);
  const errors = validateSync(plainToInstance(InboundEventDto, body));
  if (errors.length > 0) {
    const detail = errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ');
    throw new DomainError('WEBHOOK.MALFORMED_EVENT', 400, 'Malformed event', detail);
  }
  return body as InboundEventDto & Record<string, unknown>;
}
