import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../common/errors/domain-error.js';
import { InboundMetrics } from './inbound-metrics.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The source a webhook receiver route takes events from (set by WebhookEndpoint's RouteConfig). */
    webhookSource?: string;
  }
}

/**
 * Counts the webhook rejections Fastify answers before Nest's guard and handler run:
 * an over-long body (413), unparsable or too deeply nested JSON, a wrong content type.
 * Fastify's onError hooks see only those; errors thrown inside Nest (the signature
 * guard's 401s, the handler's 400) are answered by Nest's filter and counted there.
 */
@Injectable()
export class WebhookRejectionsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: InboundMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook(
      'onError',
      (request: FastifyRequest, _reply: FastifyReply, error: FastifyError | DomainError, done: () => void) => {
        const source = request.routeOptions.config?.webhookSource;
        const status = error instanceof DomainError ? error.status : (error.statusCode ?? 500);
        if (typeof source === 'string' && status >= 400 && status < 500) {
          const reason = status === 413 ? 'too_large' : 'malformed';
          this.metrics.received.inc({ source, outcome: 'rejected', reason });
        }
        done();
      },
    );
  }
}
