import { ApiProblem } from '../common/errors/api-problem.js';
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '../http/auth/api-key.guard.js';
import { IdempotentOnRow } from '../http/idempotency/idempotent.decorator.js';
import { KeyAlreadyUsed, RowKey, type RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import { CreateOrderDto } from './dto/create-order.dto.js';
import { ListOrdersQuery, OrderDto, OrderPageDto } from './dto/order.dto.js';
import { OrdersService } from './orders.service.js';

@ApiTags('orders')
@RequireKey('shop')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @HttpCode(201)
  // The order's INSERT keeps the key: no claim and answer in idempotency_keys (decision 0031).
  // One INSERT has no in-flight state: a concurrent repeat waits on the unique index, then replays.
  @IdempotentOnRow({ inFlight: false })
  @ApiOperation({
    summary: 'Create an order',
    description: 'The amount is computed from the items; the order starts in pending_payment.',
  })
  @ApiCreatedResponse({ type: OrderDto })
  @ApiProblem(400, 'Invalid body (VALIDATION.FAILED)')
  @ApiProblem(422, 'Items add up to zero or too much (ORDER.AMOUNT_ZERO | ORDER.AMOUNT_TOO_LARGE)')
  async create(@Body() dto: CreateOrderDto, @RowKey() key: RequestKey | null): Promise<OrderDto> {
    const { order, repeatOf } = await this.orders.create(dto, key);
    if (repeatOf !== null) throw new KeyAlreadyUsed(repeatOf, OrderDto.from(order));
    return OrderDto.from(order);
  }

  @Get()
  @HttpCode(200)
  @ApiOperation({ summary: 'List orders, newest first' })
  @ApiOkResponse({ type: OrderPageDto })
  @ApiProblem(400, 'Invalid query (VALIDATION.FAILED | ORDER.INVALID_CURSOR)')
  async list(@Query() query: ListOrdersQuery): Promise<OrderPageDto> {
    const page = await this.orders.list(query);
    return { data: page.data.map((o) => OrderDto.from(o)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Get an order' })
  @ApiOkResponse({ type: OrderDto })
  @ApiProblem(404, 'ORDER.NOT_FOUND')
  async get(@Param('id') id: string): Promise<OrderDto> {
    return OrderDto.from(await this.orders.get(id));
  }
}
