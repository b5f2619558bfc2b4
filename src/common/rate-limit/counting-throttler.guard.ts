import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { HooklineMetrics } from '../../metrics/hookline-metrics.js';

/** The rate limit, counting each request it refuses with 429 (hookline_rate_limited_total). */
@Injectable()
export class CountingThrottlerGuard extends ThrottlerGuard {
  // A property, so that the inherited constructor and its injection stay as they are.
  @Inject(HooklineMetrics) private readonly metrics: HooklineMetrics;

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const route = context.switchToHttp().getRequest<FastifyRequest>().routeOptions.url ?? 'unknown';
    this.metrics.rateLimited.inc({ route });
    return super.throwThrottlingException(context, detail);
  }
}
