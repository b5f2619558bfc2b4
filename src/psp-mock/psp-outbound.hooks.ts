import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { webhookSigner, type WebhookSigner } from '../common/crypto/webhook-signature.js';
import type { AllConfig } from '../config/env.js';
import { splitList } from '../config/env.js';
import {
  OutboundHooks,
  endpointOrigin,
  type AttemptContext,
  type AttemptOutcome,
} from '../webhooks/outbound/outbound-hooks.js';
import { DUPLICATE, TAMPER } from './chaos-transformations.js';
import { ChaosService } from './chaos.service.js';
import { PspEventsRepository } from './psp-events.repository.js';
import { PspMetrics } from './psp-metrics.js';

/**
 * What the PSP mock adds to the outbound engine for its own messages:
 * - callback deliveries are signed with the PSP account secret (PSP_WEBHOOK_SECRET,
 *   several during a rotation) in its scheme (PSP_SIGNATURE_SCHEME), or with
 *   Stripe-Signature for the events of the Stripe dialect (src/psp-mock/stripe/);
 * - chaos (chaos-transformations.ts): the first attempt of a share of deliveries is tampered (one body byte
 *   changed after signing, so a correct receiver answers 401 and the retry, signed
 *   correctly, succeeds), and a share of delivered messages is POSTed a second time;
 * - each callback delivery's state is mirrored on its PSP event (psp_events), which
 *   the events API and the payment page show, by the statement that records each attempt
 *   (`mirror`).
 */
@Injectable()
export class PspOutboundHooks implements OnModuleInit {
  private readonly logger = new Logger('PspSender');

  constructor(
    private readonly hooks: OutboundHooks,
    private readonly chaos: ChaosService,
    private readonly metrics: PspMetrics,
    private readonly events: PspEventsRepository,
    private readonly config: ConfigService<AllConfig, true>,
  ) {}

  onModuleInit(): void {
    const secrets = splitList(this.config.get('PSP_WEBHOOK_SECRET', { infer: true }), ' ');
    const toleranceS = this.config.get('WEBHOOK_TOLERANCE_S', { infer: true });
    this.hooks.register('psp', {
      callbackSigner: dialectSigner(
        webhookSigner(this.config.get('PSP_SIGNATURE_SCHEME', { infer: true }), secrets, toleranceS),
        webhookSigner('stripe', secrets, toleranceS),
      ),
      beforeAttempt: async (ctx) => {
        const { tamperRate } = await this.chaos.get();
        const tamper = ctx.attempt === 1 && tamperRate > 0 && Math.random() < tamperRate;
        return tamper ? { transformBody: TAMPER } : {};
      },
      afterAttempt: (ctx, outcome) => this.afterAttempt(ctx, outcome),
      // Written with the attempt's record: one statement fewer a delivery, and no state left
      // 'pending' on an event whose delivery succeeded if a separate write failed.
      mirror: { mirrors: (ctx) => ctx.endpoint.kind === 'callback', sql: this.events.callbackAttemptMirrorSql },
    });
  }

  private async afterAttempt(ctx: AttemptContext, outcome: AttemptOutcome): Promise<{ resend?: { why: string } }> {
    const endpoint = endpointOrigin(ctx.endpoint.url);
    if (outcome.transformed) {
      this.metrics.deliveries.inc({ outcome: outcome.succeeded ? 'tampered_accepted' : 'tampered', endpoint });
      if (outcome.succeeded) {
        this.logger.error({
          msg: `Tampered delivery of ${ctx.message.eventId} was accepted by ${endpoint}`,
          eventId: ctx.message.eventId,
        });
      }
    } else {
      this.metrics.deliveries.inc({ outcome: outcome.succeeded ? 'delivered' : 'failed', endpoint });
    }
    if (!outcome.succeeded) return {};
    const { duplicateRate } = await this.chaos.get();
    const duplicate = duplicateRate > 0 && Math.random() < duplicateRate;
    if (!duplicate) return {};
    this.metrics.deliveries.inc({ outcome: 'duplicated', endpoint });
    return { resend: DUPLICATE };
  }
}

/**
 * Signs the Stripe dialect's events (Stripe's envelope, `"object": "event"`) as Stripe
 * does, whatever PSP_SIGNATURE_SCHEME says, and the mock's own events in its scheme.
 * The mock's own bodies have no "object" key at the top, so most skip the parse.
 */
function dialectSigner(own: WebhookSigner, stripe: WebhookSigner): WebhookSigner {
  const isStripe = (body: Buffer | string) => {
    const text = body.toString();
    if (!text.includes('"object"')) return false;
    try {
      return (JSON.parse(text) as { object?: unknown }).object === 'event';
    } catch {
      return false;
    }
  };
  return {
    scheme: own.scheme,
    sign: (id, timestamp, body) => (isStripe(body) ? stripe : own).sign(id, timestamp, body),
    verify: (headers, rawBody, nowMs) => own.verify(headers, rawBody, nowMs),
  };
}
