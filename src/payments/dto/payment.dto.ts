import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import {
  PAYMENT_METHODS,
  PAYMENT_STATUSES,
  PAYMENT_STRATEGIES,
  RESOLVED_VIA,
  type PaymentMethod,
  type PaymentStatus,
  type PaymentStrategy,
  type ResolvedVia,
} from '../payment-status.js';
import { TIMELINE_TYPES, type PaymentTimelineEntry, type TimelineType } from '../payment-timeline-entry.entity.js';
import type { Payment } from '../payment.entity.js';

export class CreatePaymentDto {
  @ApiPropertyOptional({
    enum: PAYMENT_STRATEGIES,
    default: 'webhook',
    description:
      'How the shop learns the result: `webhook` (PSP calls back; fallback poll after WEBHOOK_DEADLINE_MS), ' +
      '`short_polling` (GET every SHORT_POLL_INTERVAL_MS) or `long_polling` (GET ?wait=LONG_POLL_WAIT_S, repeated)',
  })
  @IsOptional()
  @IsIn(PAYMENT_STRATEGIES)
  strategy?: PaymentStrategy;

  @ApiPropertyOptional({
    enum: PAYMENT_METHODS,
    default: 'pm_card_ok',
    description:
      'PSP test card: pm_card_ok settles completed, pm_card_declined fails; pm_card_3ds (PSP_PROVIDER=stripe only) needs 3-D Secure first',
  })
  @IsOptional()
  @IsIn(PAYMENT_METHODS)
  paymentMethod?: PaymentMethod;
}

export class TimelineEntryDto {
  @ApiProperty({ enum: TIMELINE_TYPES })
  type: TimelineType;
  @ApiProperty({ example: '2026-11-28T12:00:00.123Z' })
  at: string;
  @ApiProperty({ type: 'object', additionalProperties: true })
  detail: Record<string, unknown>;

  static from(e: PaymentTimelineEntry): TimelineEntryDto {
    return { type: e.type, at: e.at.toISOString(), detail: e.detail };
  }
}

export class PaymentDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  orderId: string;
  @ApiProperty({ enum: PAYMENT_STATUSES, example: 'processing' })
  status: PaymentStatus;
  @ApiProperty({ enum: PAYMENT_STRATEGIES })
  strategy: PaymentStrategy;
  @ApiProperty({ example: 'pm_card_ok' })
  paymentMethod: string;
  @ApiProperty({ example: 2598 })
  amount: number;
  @ApiProperty({ example: 'USD' })
  currency: string;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'pay_0f1e2d3c4b5a69788796a5b4' })
  pspPaymentId: string | null;
  @ApiPropertyOptional({ enum: RESOLVED_VIA, nullable: true })
  resolvedVia: ResolvedVia | null;
  @ApiPropertyOptional({ nullable: true, type: String })
  failureReason: string | null;
  @ApiProperty()
  createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String })
  resolvedAt: string | null;
  @ApiProperty({ description: 'Status polls made so far (fallback, short or long)' })
  pollCount: number;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Set when polling gave up (POLL_GIVE_UP_MS) without a final result: a person should look',
  })
  attentionReason: string | null;
  @ApiPropertyOptional({
    type: 'object',
    properties: { type: { type: 'string', example: 'use_stripe_sdk' } },
    description:
      'Present when the customer must act before the payment goes on (PSP_PROVIDER=stripe, pm_card_3ds: 3-D Secure); the payment stays processing meanwhile',
  })
  nextAction?: { type: string };
  @ApiPropertyOptional({ type: [TimelineEntryDto], description: 'Present on GET /payments/:id' })
  timeline?: TimelineEntryDto[];

  static from(p: Payment, timeline?: PaymentTimelineEntry[]): PaymentDto {
    return {
      id: p.id,
      orderId: p.orderId,
      status: p.status,
      strategy: p.strategy,
      paymentMethod: p.paymentMethod,
      amount: p.amount,
      currency: p.currency,
      pspPaymentId: p.pspPaymentId,
      resolvedVia: p.resolvedVia,
      failureReason: p.failureReason,
      createdAt: p.createdAt.toISOString(),
      resolvedAt: p.resolvedAt?.toISOString() ?? null,
      pollCount: p.pollCount,
      attentionReason: p.attentionReason,
      ...(p.nextAction ? { nextAction: { type: p.nextAction.type } } : {}),
      ...(timeline ? { timeline: timeline.map((e) => TimelineEntryDto.from(e)) } : {}),
    };
  }
}
