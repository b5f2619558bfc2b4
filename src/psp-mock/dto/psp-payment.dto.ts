import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsISO4217CurrencyCode, IsObject, IsOptional, IsUrl, Max, MaxLength, Min } from 'class-validator';
import { PSP_PAYMENT_STATUSES, type PspPayment, type PspPaymentStatus } from '../psp-payment.entity.js';

export const PSP_PAYMENT_METHODS = ['pm_card_ok', 'pm_card_declined'] as const;

export class CreatePspPaymentDto {
  @ApiProperty({ example: 2598, description: 'Minor units' })
  @IsInt()
  @Min(1)
  @Max(99_999_999_999)
  amount: number;

  @ApiProperty({ example: 'USD' })
  @IsISO4217CurrencyCode()
  currency: string;

  @ApiPropertyOptional({
    example: 'http://127.0.0.1:3000/webhooks/psp',
    description: "Where the PSP delivers this payment's events",
  })
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  callback_url?: string;

  @ApiPropertyOptional({ enum: PSP_PAYMENT_METHODS, default: 'pm_card_ok' })
  @IsOptional()
  @IsIn(PSP_PAYMENT_METHODS)
  payment_method?: string;

  @ApiPropertyOptional({ example: { orderId: '6d1c…' }, description: 'Echoed back in every event' })
  @IsOptional()
  @IsObject()
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
    };
  }
}
