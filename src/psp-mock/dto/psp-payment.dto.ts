import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsUrl, Max, MaxLength, Min } from 'class-validator';
import { IsCurrencyCode } from '../../common/validation/currency-code.js';
import { IsStringMap } from '../../common/validation/string-map.js';
import {
  PSP_EVENT_FORMATS,
  PSP_PAYMENT_STATUSES,
  type PspEventFormat,
  type PspPayment,
  type PspPaymentStatus,
} from '../psp-payment.entity.js';

export const PSP_PAYMENT_METHODS = ['pm_card_ok', 'pm_card_declined'] as const;

/** Stripe-like limits on `metadata`: a flat map of short strings. */
export const METADATA_LIMITS = { maxKeys: 20, maxKeyLength: 40, maxValueLength: 500 } as const;

export class CreatePspPaymentDto {
  @ApiProperty({ example: 2598, description: 'Minor units', minimum: 1, maximum: 99_999_999_999 })
  @IsInt()
  @Min(1)
  @Max(99_999_999_999)
  amount: number;

  @ApiProperty({ example: 'USD', pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code, in capitals' })
  @IsCurrencyCode()
  currency: string;

  @ApiPropertyOptional({
    example: 'http://127.0.0.1:3000/webhooks/psp',
    description:
      "Where the PSP delivers this payment's events. Checked at connect time against PSP_CALLBACK_ALLOWED_CIDRS: " +
      'a private, loopback or other special-purpose address not in it fails the delivery.',
  })
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  callback_url?: string;

  @ApiPropertyOptional({
    enum: PSP_EVENT_FORMATS,
    default: 'snapshot',
    description:
      "How this payment's events describe it: snapshot (status, amount, currency and metadata in data) or thin " +
      '(data holds payment_id and metadata only; the receiver fetches GET /psp/v1/payments/:id for the state, as ' +
      "Stripe's thin events do).",
  })
  @IsOptional()
  @IsIn(PSP_EVENT_FORMATS)
  event_format?: PspEventFormat;

  @ApiPropertyOptional({ enum: PSP_PAYMENT_METHODS, default: 'pm_card_ok' })
  @IsOptional()
  @IsIn(PSP_PAYMENT_METHODS)
  payment_method?: string;

  @ApiPropertyOptional({
    example: { orderId: '6d1c…' },
    type: 'object',
    additionalProperties: { type: 'string', maxLength: METADATA_LIMITS.maxValueLength },
    maxProperties: METADATA_LIMITS.maxKeys,
    description:
      `Echoed back in every event. String values only: at most ${METADATA_LIMITS.maxKeys} keys of up to ` +
      `${METADATA_LIMITS.maxKeyLength} characters, values of up to ${METADATA_LIMITS.maxValueLength}.`,
  })
  @IsOptional()
  @IsStringMap(METADATA_LIMITS)
  metadata?: Record<string, string>;
}

export class PspPaymentDto {
  @ApiProperty({ example: 'pay_0f1e2d3c4b5a69788796a5b4' })
  id: string;
  @ApiProperty({ enum: PSP_PAYMENT_STATUSES })
  status: PspPaymentStatus;
  @ApiProperty()
  amount: number;
  @ApiProperty()
  currency: string;
  @ApiProperty()
  payment_method: string;
  @ApiPropertyOptional({ nullable: true, type: String })
  callback_url: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  metadata: Record<string, string>;
  @ApiProperty()
  created_at: string;
  @ApiPropertyOptional({ nullable: true, type: String })
  settled_at: string | null;
  @ApiProperty({ description: 'API requests the PSP has served about this payment (creation and every poll)' })
  requests_served: number;

  static from(p: PspPayment): PspPaymentDto {
    return {
      id: p.id,
      status: p.status,
      amount: p.amount,
      currency: p.currency,
      payment_method: p.paymentMethod,
      callback_url: p.callbackUrl,
      metadata: p.metadata,
      created_at: p.createdAt.toISOString(),
      settled_at: p.settledAt?.toISOString() ?? null,
      requests_served: p.requestsServed,
    };
  }
}
