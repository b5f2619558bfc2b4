import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { THROTTLER_SKIP } from '@nestjs/throttler/dist/throttler.constants.js';
import type { FastifyRequest } from 'fastify';
import { HttpMetrics } from '../http-metrics.js';

/** The rate limit, counting each request it refuses with 429 (hookline_rate_limited_total). */
@Injectable()
export class CountingThrottlerGuard extends ThrottlerGuard {
  // A property, so that the inherited constructor and its injection stay as they are.
  @Inject(HttpMetrics) private readonly metrics: HttpMetrics;

  /** Per handler: whether @SkipThrottle() skips every throttler (metadata is fixed at boot). */
  private readonly skipsAll = new WeakMap<object, boolean>();

  /**
   * A route that skips every throttler (the webhook receivers) is let through after one
   * lookup, instead of ThrottlerGuard's five metadata reads per throttler on each request.
   */
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    const handler = context.getHandler();
    let skips = this.skipsAll.get(handler);
    if (skips === undefined) {
      const targets = [handler, context.getClass()];
      skips = this.throttlers.every((t) => this.reflector.getAllAndOverride<boolean>(THROTTLER_SKIP + t.name, targets));
      this.skipsAll.set(handler, skips);
    }
    return Promise.resolve(skips);
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const route = context.switchToHttp().getRequest<FastifyRequest>().routeOptions.url ?? 'unknown';
    this.metrics.rateLimited.inc({ route });
    return super.throwThrottlingException(context, detail);
  }
}
