import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Stripe from 'stripe';
import type { AllConfig } from '../../config/env.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { METADATA_LIMITS } from '../dto/psp-payment.dto.js';
import { PspEventsRepository, type CreatedBound, type StripeEventsFilter } from '../psp-events.repository.js';
import { PspMockService } from '../psp-mock.service.js';
import { invalidRequest, missingParam, resourceMissing, StripeApiError } from './stripe-error.js';
import type { StripeParams } from './stripe-form.js';
import { isStripePaymentMethod, paymentIntentOf, STRIPE_TEST_PAYMENT_METHODS } from './stripe-objects.js';

/** Stripe's bounds on `limit` in list calls. */
const LIST_LIMIT = { min: 1, max: 100, default: 10 };

/**
 * The PSP mock's Stripe dialect: Stripe's requests turned into the mock's payments and
 * its events listed as Stripe lists them. A PaymentIntent is a mock payment whose
 * payment method is one of Stripe's test ones; it settles like any other (chaos
 * included) and its event goes to PSP_STRIPE_WEBHOOK_URL in Stripe's envelope
 * (docs/decisions/1004-stripe-dialect.md).
 */
@Injectable()
export class StripeDialectService {
  private readonly webhookUrl: string;

  constructor(
    private readonly psp: PspMockService,
    private readonly events: PspEventsRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.webhookUrl =
      config.get('PSP_STRIPE_WEBHOOK_URL', { infer: true }) ??
      `${config.get('PUBLIC_BASE_URL', { infer: true })}/webhooks/stripe`;
  }

  async createPaymentIntent(params: StripeParams): Promise<Stripe.PaymentIntent> {
    const amount = this.amount(params.amount);
    const currency = params.currency;
    if (currency === undefined) throw missingParam('currency');
    if (typeof currency !== 'string' || !/^[a-z]{3}$/i.test(currency)) {
      throw invalidRequest(
        `Invalid currency: ${typeof currency === 'string' ? currency.slice(0, 20) : 'not a string'}.`,
        'currency',
      );
    }
    if (params.confirm !== 'true') {
      throw invalidRequest(
        'The PSP mock confirms PaymentIntents at creation only: send confirm=true with a payment_method.',
        'confirm',
        'parameter_invalid_empty',
      );
    }
    const method = params.payment_method;
    if (method === undefined) throw missingParam('payment_method');
    if (typeof method !== 'string' || !isStripePaymentMethod(method)) {
      throw new StripeApiError(400, {
        error: {
          type: 'invalid_request_error',
          code: 'resource_missing',
          message: `No such PaymentMethod: '${typeof method === 'string' ? method.slice(0, 60) : '[object]'}'; the mock knows ${Object.keys(STRIPE_TEST_PAYMENT_METHODS).join(', ')}.`,
          param: 'payment_method',
        },
      });
    }
    const metadata = this.metadata(params.metadata);
    const { payment } = await this.psp.createPayment(
      {
        amount,
        currency: currency.toUpperCase(),
        payment_method: method,
        metadata,
        callback_url: this.webhookUrl,
      },
      'pi',
    );
    return paymentIntentOf(payment);
  }

  async retrievePaymentIntent(id: string): Promise<Stripe.PaymentIntent> {
    try {
      const payment = await this.psp.getPayment(id);
      if (!isStripePaymentMethod(payment.paymentMethod)) throw resourceMissing('payment_intent', id, 'intent');
      return paymentIntentOf(payment);
    } catch (err) {
      if (err instanceof DomainError && err.status === 404) throw resourceMissing('payment_intent', id, 'intent');
      throw err;
    }
  }

  /**
   * Events newest first, as Stripe lists them: `starting_after` pages towards older
   * events, `ending_before` towards newer ones; `type` and `created[gt|gte|lt|lte]` filter.
   */
  async listEvents(query: StripeParams): Promise<Stripe.ApiList<Stripe.Event>> {
    const limit = this.limit(query.limit);
    const filter: StripeEventsFilter = { take: limit + 1 };
    let ascending = false;
    if (typeof query.starting_after === 'string') {
      filter.olderThan = await this.seqOf(query.starting_after, 'starting_after');
    } else if (typeof query.ending_before === 'string') {
      filter.newerThan = await this.seqOf(query.ending_before, 'ending_before');
      ascending = true; // the page just before the cursor: the oldest newer ones, returned newest first
    }
    if (typeof query.types === 'object') filter.types = Object.values(query.types);
    if (query.type !== undefined) {
      if (typeof query.type !== 'string') throw invalidRequest('Invalid type.', 'type');
      filter.type = query.type;
    }
    const created = query.created;
    if (typeof created === 'string') filter.createdAt = this.unix(created);
    else if (created) {
      const ops = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
      filter.created = Object.entries(created).map(([op, value]): CreatedBound => {
        if (!Object.hasOwn(ops, op)) throw invalidRequest(`Invalid created[${op}].`, 'created');
        return { compare: ops[op as keyof typeof ops], unix: this.unix(value) };
      });
    }
    const rows = await this.events.stripePage(filter);
    const page = rows.slice(0, limit);
    if (ascending) page.reverse();
    return {
      object: 'list',
      url: '/v1/events',
      has_more: rows.length > limit,
      data: page.map((e) => e.payload as unknown as Stripe.Event),
    };
  }

  private async seqOf(eventId: string, param: string): Promise<string> {
    const seq = await this.events.seqOf(eventId);
    if (seq === null) throw resourceMissing('event', eventId, param);
    return seq;
  }

  private amount(value: StripeParams[string] | undefined): number {
    if (value === undefined) throw missingParam('amount');
    const n = typeof value === 'string' && /^\d{1,11}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) {
      throw invalidRequest(
        'Invalid integer: amount must be a positive integer in minor units.',
        'amount',
        'parameter_invalid_integer',
      );
    }
    return n;
  }

  private limit(value: StripeParams[string] | undefined): number {
    if (value === undefined) return LIST_LIMIT.default;
    const n = typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : NaN;
    if (!(n >= LIST_LIMIT.min && n <= LIST_LIMIT.max)) {
      throw invalidRequest(
        `This value must be between ${LIST_LIMIT.min} and ${LIST_LIMIT.max}.`,
        'limit',
        'parameter_invalid_integer',
      );
    }
    return n;
  }

  private unix(value: string): number {
    if (!/^\d{1,12}$/.test(value))
      throw invalidRequest('Invalid timestamp: must be an integer Unix timestamp.', 'created');
    return Number(value);
  }

  private metadata(value: StripeParams[string] | undefined): Record<string, string> {
    if (value === undefined || value === '') return {};
    if (typeof value === 'string') throw invalidRequest('Invalid object: metadata must be a map.', 'metadata');
    const entries = Object.entries(value);
    if (entries.length > METADATA_LIMITS.maxKeys) {
      throw invalidRequest(`Metadata can have at most ${METADATA_LIMITS.maxKeys} keys.`, 'metadata');
    }
    for (const [key, v] of entries) {
      if (key.length === 0 || key.length > METADATA_LIMITS.maxKeyLength || v.length > METADATA_LIMITS.maxValueLength) {
        throw invalidRequest(
          `Metadata keys are 1-${METADATA_LIMITS.maxKeyLength} characters and values at most ${METADATA_LIMITS.maxValueLength}.`,
          `metadata[${key.slice(0, 40)}]`,
        );
      }
    }
    return value;
  }
}
