import { Body, Controller, Get, HttpCode, Param, Post, Query, UseFilters } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type Stripe from 'stripe';
import { RequireKey } from '../../http/auth/api-key.guard.js';
import { Idempotent } from '../../http/idempotency/idempotent.decorator.js';
import { StripeDialectService } from './stripe-dialect.service.js';
import { StripeErrorFilter } from './stripe-error.filter.js';
import { nestParams } from './stripe-form.js';
import { STRIPE_TEST_PAYMENT_METHODS } from './stripe-objects.js';

const METHODS = Object.entries(STRIPE_TEST_PAYMENT_METHODS)
  .map(([pm, what]) => `${pm} ${what}`)
  .join('; ');

/**
 * The PSP mock speaking Stripe at Stripe's own paths, so that the official SDK (and the
 * shop's Stripe adapter) can be pointed at it with `host`/`port`/`protocol`. The
 * mock's API key (PSP_API_KEY) is its Stripe secret key.
 */
@ApiTags('psp-mock (Stripe dialect)')
@RequireKey('psp')
@UseFilters(StripeErrorFilter)
@Controller('v1')
export class StripeDialectController {
  constructor(private readonly stripe: StripeDialectService) {}

  @Post('payment_intents')
  @HttpCode(200)
  @Idempotent()
  @ApiOperation({
    summary: 'Create and confirm a PaymentIntent (Stripe dialect)',
    description:
      'Form-encoded as Stripe takes it: amount, currency, confirm=true, payment_method, metadata[…]. Answers at once ' +
      `(status processing, or requires_action for 3-D Secure); settles later and sends a Stripe-signed event. ${METHODS}.`,
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['amount', 'currency', 'confirm', 'payment_method'],
      properties: {
        amount: { type: 'integer', example: 2598 },
        currency: { type: 'string', example: 'usd' },
        confirm: { type: 'boolean', example: true },
        payment_method: { type: 'string', enum: Object.keys(STRIPE_TEST_PAYMENT_METHODS) },
        'metadata[orderId]': { type: 'string' },
      },
    },
  })
  @ApiOkResponse({ description: 'A Stripe PaymentIntent object' })
  create(@Body() body: Record<string, unknown>): Promise<Stripe.PaymentIntent> {
    return this.stripe.createPaymentIntent(nestParams(body));
  }

  @Get('payment_intents/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Retrieve a PaymentIntent (Stripe dialect)' })
  @ApiOkResponse({ description: 'A Stripe PaymentIntent object; 404 resource_missing for an unknown id' })
  retrieve(@Param('id') id: string): Promise<Stripe.PaymentIntent> {
    return this.stripe.retrievePaymentIntent(id);
  }

  @Get('events')
  @HttpCode(200)
  @ApiOperation({
    summary: 'List events, newest first (Stripe dialect)',
    description:
      'limit (1–100, default 10), starting_after, ending_before, type, types[], created[gt|gte|lt|lte] (Unix s).',
  })
  @ApiOkResponse({ description: 'A Stripe list of Event objects' })
  events(@Query() query: Record<string, unknown>): Promise<Stripe.ApiList<Stripe.Event>> {
    return this.stripe.listEvents(nestParams(query));
  }
}
