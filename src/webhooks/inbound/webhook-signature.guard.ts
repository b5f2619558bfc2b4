import { ApiProblem } from '../../common/errors/api-problem.js';
import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  HttpCode,
  Injectable,
  Logger,
  RawBodyRequest,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../common/errors/domain-error.js';
import { InboundMetrics, type WebhookRejection } from './inbound-metrics.js';
import { WebhookSources } from './webhook-sources.js';

const WEBHOOK_SOURCE = 'hookline:webhook-source';

/** What the guard learnt about a request, for the controller and the inbox row. */
export interface VerifiedWebhook {
  source: string;
  /** The sender's message id, where the scheme has one (Standard Webhooks' webhook-id). */
  webhookId?: string;
  timestamp: number;
  receivedAt: Date;
  verifiedAt: Date;
}
export type WebhookRequest = RawBodyRequest<FastifyRequest> & { webhook?: VerifiedWebhook };

/**
 * Verifies an inbound webhook's signature and timestamp against the exact raw body
 * before anything else looks at it. Failures are 401 problem+json with a distinct
 * code; the log line says why, with the webhook id but never a secret or signature.
 */
@Injectable()
export class WebhookSignatureGuard implements CanActivate {
  private readonly logger = new Logger('WebhookGuard');

  constructor(
    private readonly reflector: Reflector,
    private readonly sources: WebhookSources,
    private readonly metrics: InboundMetrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const receivedAt = new Date();
    const source = this.reflector.get<string>(WEBHOOK_SOURCE, context.getHandler());
    const profile = this.sources.get(source);
    if (!profile) {
      // A source without secrets (Stripe without STRIPE_WEBHOOK_SECRET) takes nothing.
      throw new DomainError(
        'WEBHOOK.SOURCE_NOT_CONFIGURED',
        404,
        'Webhook source not configured',
        `This instance has no signing secret for ${source} webhooks.`,
      );
    }
    const req = context.switchToHttp().getRequest<WebhookRequest>();
    const raw = req.rawBody ?? Buffer.alloc(0);
    const result = profile.signer.verify(req.headers, raw, receivedAt.getTime());
    if (!result.ok) {
      const webhookId = typeof req.headers['webhook-id'] === 'string' ? req.headers['webhook-id'].slice(0, 100) : '-';
      this.logger.warn(
        `Rejected ${source} webhook ${webhookId} (${profile.signer.scheme} scheme) from ${req.ip}: ${result.reason} (${result.detail})`,
      );
      const reason = result.reason.toLowerCase() as WebhookRejection;
      this.metrics.received.inc({ source, outcome: 'rejected', reason });
      throw new DomainError(`WEBHOOK.${result.reason}`, 401, 'Webhook signature rejected', result.detail);
    }
    req.webhook = { source, webhookId: result.id, timestamp: result.timestamp, receivedAt, verifiedAt: new Date() };
    return true;
  }
}

/** Marks a route as the receiver for `source`: signature guard, header docs and answers. */
export const WebhookEndpoint = (source: string) =>
  applyDecorators(
    SetMetadata(WEBHOOK_SOURCE, source),
    // webhookSource: read by the hook that counts rejections Fastify answers before the
    // guard runs. accessLog: the inbox logs a line for every event taken, so only
    // rejections get an access line too.
    RouteConfig({ webhookSource: source, accessLog: 'failures' }),
    UseGuards(WebhookSignatureGuard),
    HttpCode(202),
    ...(source === 'stripe' ? stripeHeaderDocs() : standardHeaderDocs()),
    ApiProblem(
      401,
      'Missing or invalid signature, or stale timestamp (WEBHOOK.SIGNATURE_MISSING | WEBHOOK.SIGNATURE_INVALID | WEBHOOK.TIMESTAMP_OUT_OF_TOLERANCE)',
    ),
    ApiProblem(400, 'Signed body is not a valid event (WEBHOOK.MALFORMED_EVENT | REQUEST.MALFORMED)'),
    ApiProblem(413, 'Body larger than WEBHOOK_MAX_BODY_BYTES'),
  );

/** Stripe's own endpoint: always Stripe-Signature, with its own secrets (STRIPE_WEBHOOK_SECRET). */
const stripeHeaderDocs = () => [
  ApiHeader({
    name: 'Stripe-Signature',
    required: true,
    description:
      '`t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">` keyed with STRIPE_WEBHOOK_SECRET (several v1 during a rotation)',
  }),
];

const standardHeaderDocs = () => [
  ApiHeader({
    name: 'webhook-id',
    required: false,
    description: 'Unique message id (Standard Webhooks scheme, the default; PSP_SIGNATURE_SCHEME=standard)',
  }),
  ApiHeader({
    name: 'webhook-timestamp',
    required: false,
    description: 'Unix seconds; must be within the tolerance (default ±300 s)',
  }),
  ApiHeader({
    name: 'webhook-signature',
    required: false,
    description: 'Space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` entries',
  }),
  ApiHeader({
    name: 'Stripe-Signature',
    required: false,
    description:
      '`t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">` (several v1 allowed) — instead of the three webhook-* headers when PSP_SIGNATURE_SCHEME=stripe',
  }),
];
