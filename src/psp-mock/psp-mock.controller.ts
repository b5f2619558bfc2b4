import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireKey } from '../common/auth/api-key.guard.js';
import { Problem } from '../common/errors/problem.js';
import { CreatePspPaymentDto, PspPaymentDto } from './dto/psp-payment.dto.js';
import { PspMockService } from './psp-mock.service.js';

@ApiTags('psp-mock')
@RequireKey('psp')
@Controller('psp/v1')
export class PspMockController {
  constructor(private readonly psp: PspMockService) {}

  @Post('payments')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create a payment (PSP mock)',
    description:
      'Answers at once with status processing; settles after a random delay and reports by signed webhook to callback_url.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Repeat the request with the same key to get the same payment back',
  })
  @ApiCreatedResponse({ type: PspPaymentDto })
  @ApiResponse({ status: 400, description: 'VALIDATION.FAILED', type: Problem })
  @ApiResponse({ status: 422, description: 'PSP.IDEMPOTENCY_KEY_REUSED', type: Problem })
  async create(
    @Body() dto: CreatePspPaymentDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PspPaymentDto> {
    const { payment, replayed } = await this.psp.createPayment(dto, idempotencyKey);
    if (replayed) void reply.header('idempotency-replay', 'true');
    return PspPaymentDto.from(payment);
  }

  @Get('payments/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Get a payment (short poll)' })
  @ApiOkResponse({ type: PspPaymentDto })
  @ApiNotFoundResponse({ description: 'PSP.PAYMENT_NOT_FOUND', type: Problem })
  async get(@Param('id') id: string): Promise<PspPaymentDto> {
    return PspPaymentDto.from(await this.psp.getPayment(id));
  }
}
