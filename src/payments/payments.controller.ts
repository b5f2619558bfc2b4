import { ApiProblem } from '../common/errors/api-problem.js';
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '../http/auth/api-key.guard.js';
import { IdempotentOnRow } from '../http/idempotency/idempotent.decorator.js';
import { KeyAlreadyUsed, RowKey, type RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import { CreatePaymentDto, PaymentDto } from './dto/payment.dto.js';
import { PaymentsService } from './payments.service.js';

@ApiTags('payments')
@RequireKey('shop')
@Controller()
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post('orders/:id/payments')
  @HttpCode(201)
  @ApiProblem(
    422,
    'PAYMENT.UNSUPPORTED_BY_PSP — the PSP in use cannot pay this way (Stripe: no long_polling; the PSP mock: no pm_card_3ds); nothing stored | IDEMPOTENCY.KEY_REUSED',
  )
  // The payment's INSERT keeps the key: no claim and answer in idempotency_keys (decision 0031).
  @IdempotentOnRow({ inFlight: true })
  @ApiOperation({
    summary: 'Pay an order',
    description:
      "Creates a payment at the PSP with callback_url = this shop's /webhooks/psp (PSP_PROVIDER=stripe: a PaymentIntent, " +
      'reported to /webhooks/stripe). The answer comes at once with status processing (and nextAction when the customer ' +
      'must authenticate first); the PSP settles later and reports by signed webhook.',
  })
  @ApiCreatedResponse({ type: PaymentDto })
  @ApiProblem(404, 'ORDER.NOT_FOUND')
  @ApiProblem(409, 'ORDER.ALREADY_PAID | ORDER.NOT_PAYABLE | PAYMENT.IN_PROGRESS')
  @ApiProblem(
    502,
    'PSP.REJECTED (payment failed, order stays payable) | PSP.UNAVAILABLE (outcome unknown: the payment, `paymentId` in the body, stays processing; repeat the request to resume it)',
  )
  @ApiProblem(504, 'PSP.TIMEOUT — as PSP.UNAVAILABLE')
  async create(
    @Param('id') orderId: string,
    @Body() dto: CreatePaymentDto,
    @RowKey() key: RequestKey | null,
  ): Promise<PaymentDto> {
    const { payment, repeatOf } = await this.payments.create(orderId, dto, key);
    if (repeatOf !== null) {
      throw new KeyAlreadyUsed(
        repeatOf.requestHash,
        repeatOf.running ? null : PaymentDto.from(payment),
        `/orders/${payment.orderId}/payments`,
      );
    }
    return PaymentDto.from(payment);
  }

  @Get('payments/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Get a payment with its timeline' })
  @ApiOkResponse({ type: PaymentDto })
  @ApiProblem(404, 'PAYMENT.NOT_FOUND')
  async get(@Param('id') id: string): Promise<PaymentDto> {
    const { payment, timeline } = await this.payments.get(id);
    return PaymentDto.from(payment, timeline);
  }
}
