import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Agent as HttpsAgent } from 'node:https';
import Stripe from 'stripe';
import type { AllConfig } from '../../config/env.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { trustedCas } from '../../common/tls/trusted-cas.js';
import { CreatePspPayment, PspClient, PspEventPage, PspEventView, PspPaymentView } from './psp.client.js';
import { STRIPE_HANDLED_EVENTS, STRIPE_STATUS_MAP } from './stripe-status.js';

/** The shop's test cards as Stripe's test PaymentMethods; anything else is passed on as Stripe's own id. */
const STRIPE_METHOD: Record<string, string> = {
  pm_card_ok: 'pm_card_visa',
  pm_card_declined: 'pm_card_chargeDeclined',
  pm_card_3ds: 'pm_card_threeDSecureRequired',
};

/** How far back the first reconciliation run reads: as long as Stripe retries (docs/decisions/1003-stripe-reconciliation-cursor.md). */
export const FIRST_RECONCILIATION_WINDOW_S = 3 * 24 * 3600;
/** Pages the first run reads back through at most, newest first, before it starts from the oldest. */
const FIRST_RUN_MAX_PAGES = 20;

/**
 * The PspClient port on Stripe, through the official SDK (PSP_PROVIDER=stripe): a
 * payment is a PaymentIntent confirmed at creation with the shop's payment id as its
 * Idempotency-Key; polls retrieve it; reconciliation reads GET /v1/events forward from
 * its cursor with `ending_before` (Stripe lists newest first). STRIPE_API_BASE points
 * the SDK at the PSP mock's Stripe dialect (host/port/protocol). Stripe has no long
 * polling: such payments are refused before anything is stored
 * (docs/decisions/1001-stripe-payment-intent-at-creation.md, 1002-stripe-no-long-polling.md).
 */
@Injectable()
export class StripePspClient extends PspClient {
  override readonly eventSource = 'stripe';
  private sdk: Stripe | null = null;

  constructor(private readonly config: ConfigService<AllConfig, true>) {
    super();
  }

  override unsupported(strategy: string): string | null {
    return strategy === 'long_polling'
      ? 'Stripe has no long polling: use webhook (with the fallback poll) or short_polling. The comparison keeps long polling for the PSP mock.'
      : null;
  }

  async createPayment(request: CreatePspPayment, idempotencyKey: string): Promise<PspPaymentView> {
    try {
      const pi = await this.stripe().paymentIntents.create(
        {
          amount: request.amount,
          currency: request.currency.toLowerCase(),
          confirm: true,
          payment_method: STRIPE_METHOD[request.payment_method] ?? request.payment_method,
          // Cards only, no redirect: confirm at creation needs no return_url.
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          metadata: request.metadata,
        },
        { idempotencyKey },
      );
      return viewOf(pi);
    } catch (err) {
      // Stripe confirms a card at once: a decline is a 402 whose PaymentIntent is the answer.
      if (err instanceof Stripe.errors.StripeCardError && err.payment_intent) return viewOf(err.payment_intent);
      throw this.toDomainError(err);
    }
  }

  async getPayment(pspPaymentId: string): Promise<PspPaymentView> {
    try {
      return viewOf(await this.stripe().paymentIntents.retrieve(pspPaymentId));
    } catch (err) {
      throw this.toDomainError(err);
    }
  }

  /**
   * The events after `after`, oldest first. Stripe lists newest first, so the page after a
   * cursor is the one `ending_before` it, reversed. The first run (no cursor) reads back
   * through FIRST_RECONCILIATION_WINDOW_S and starts from the oldest event found.
   */
  async listEvents(after: string | null, limit: number): Promise<PspEventPage> {
    try {
      const types = [...STRIPE_HANDLED_EVENTS];
      if (after) {
        const page = await this.stripe().events.list({ ending_before: after, limit, types });
        return { data: page.data.map(eventView).reverse(), has_more: page.has_more };
      }
      const since = Math.floor(Date.now() / 1000) - FIRST_RECONCILIATION_WINDOW_S;
      const all: Stripe.Event[] = [];
      let startingAfter: string | undefined;
      for (let i = 0; i < FIRST_RUN_MAX_PAGES; i++) {
        const page = await this.stripe().events.list({
          created: { gte: since },
          limit: 100,
          types,
          ...(startingAfter ? { starting_after: startingAfter } : {}),
        });
        all.push(...page.data);
        if (!page.has_more || page.data.length === 0) break;
        startingAfter = page.data[page.data.length - 1].id;
      }
      const oldestFirst = all.reverse();
      return { data: oldestFirst.slice(0, limit).map(eventView), has_more: oldestFirst.length > limit };
    } catch (err) {
      throw this.toDomainError(err);
    }
  }

  private stripe(): Stripe {
    if (this.sdk) return this.sdk;
    const key = this.config.get('STRIPE_SECRET_KEY', { infer: true });
    if (!key) throw new Error('STRIPE_SECRET_KEY is not set'); // validateEnv refuses PSP_PROVIDER=stripe without it
    const base = this.config.get('STRIPE_API_BASE', { infer: true });
    const url = base ? new URL(base) : null;
    // As every outbound call: the usual stores plus PSP_CA_FILE (an https STRIPE_API_BASE signed
    // by a local CA); nothing turns verification off.
    const ca = trustedCas(this.config.get('PSP_CA_FILE', { infer: true }));
    this.sdk = new Stripe(key, {
      ...(ca && (!url || url.protocol === 'https:') && { httpAgent: new HttpsAgent({ keepAlive: true, ca }) }),
      timeout: this.config.get('PSP_TIMEOUT_MS', { infer: true }),
      // The shop retries itself (a resuming request, the next poll, the next reconciliation run).
      maxNetworkRetries: 0,
      appInfo: { name: 'hookline' },
      ...(url
        ? {
            host: url.hostname,
            port: url.port || (url.protocol === 'https:' ? 443 : 80),
            protocol: url.protocol === 'https:' ? 'https' : 'http',
          }
        : {}),
    });
    return this.sdk;
  }

  /** Stripe's errors as the port's codes: only an answered "no" is PSP.REJECTED; anything else leaves the outcome unknown. */
  private toDomainError(err: unknown): DomainError {
    if (!(err instanceof Stripe.errors.StripeError)) {
      return new DomainError('PSP.UNAVAILABLE', 502, 'Payment provider unavailable', (err as Error).message);
    }
    const detail = `Stripe answered ${err.statusCode ?? 'nothing'} (${err.type}${err.code ? `, ${err.code}` : ''}): ${err.message.slice(0, 300)}`;
    if (err instanceof Stripe.errors.StripeConnectionError || err.statusCode === undefined) {
      return new DomainError('PSP.UNAVAILABLE', 502, 'Payment provider unavailable', detail);
    }
    if (err.statusCode === 409 || err.code === 'idempotency_key_in_use') {
      return new DomainError('PSP.IN_PROGRESS', 409, 'Payment provider busy with this payment', detail);
    }
    const retryable = err.statusCode >= 500 || err.statusCode === 429;
    return new DomainError(
      retryable ? 'PSP.UNAVAILABLE' : 'PSP.REJECTED',
      502,
      retryable ? 'Payment provider unavailable' : 'Payment provider error',
      detail,
    );
  }
}

/** A PaymentIntent as the port's payment view. */
function viewOf(pi: Stripe.PaymentIntent): PspPaymentView {
  return {
    id: pi.id,
    status: STRIPE_STATUS_MAP[pi.status],
    provider_status: pi.status,
    amount: pi.amount,
    currency: pi.currency.toUpperCase(),
    metadata: pi.metadata,
    next_action: pi.next_action ? { type: pi.next_action.type } : null,
  };
}

/**
 * A Stripe event as the port lists it: Stripe's own event (what the inbox stores and the
 * handler reads, as a webhook would bring it) with the port's event_id and created_at beside.
 */
function eventView(e: Stripe.Event): PspEventView {
  return {
    ...(e as unknown as Record<string, unknown>),
    event_id: e.id,
    created_at: new Date(e.created * 1000).toISOString(),
  } as PspEventView;
}
