import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { RequireKey } from '../common/auth/api-key.guard.js';
import { Idempotent } from '../common/idempotency/idempotent.decorator.js';
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
  @Idempotent()
  @ApiCreatedResponse({ type: PspPaymentDto })
  @ApiResponse({ status: 400, description: 'VALIDATION.FAILED', type: Problem })
  async create(@Body() dto: CreatePspPaymentDto): Promise<PspPaymentDto> {
    return PspPaymentDto.from(await this.psp.createPayment(dto));
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
