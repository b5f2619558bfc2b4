import { CanActivate, ExecutionContext, Injectable, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { safeEqual } from '../common/crypto/safe-equal.js';
import { DomainError } from '../common/errors/domain-error.js';
import type { AllConfig } from '../config/env.js';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="metrics"' };

/**
 * Why a scrape is refused under METRICS_TOKEN, or null when it may read the metrics:
 * only `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time (both sides
 * hashed first, so neither content nor length leaks).
 */
export function metricsTokenRefusal(authorization: string | undefined, token: string | undefined): DomainError | null {
  if (token === undefined) return null;
  const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
  if (presented === undefined) {
    return new DomainError(
      'AUTH.MISSING_KEY',
      401,
      'Metrics token required',
      'Send Authorization: Bearer <METRICS_TOKEN>.',
      {},
      CHALLENGE,
    );
  }
  if (!safeEqual(presented, token)) {
    return new DomainError(
      'AUTH.INVALID_KEY',
      401,
      'Invalid metrics token',
      'The token is not METRICS_TOKEN.',
      {},
      {
        ...CHALLENGE,
      },
    );
  }
  return null;
}

/**
 * /metrics on the main port: not there at all (404, as any unknown route) when
 * METRICS_PORT gives metrics a listener of their own; behind METRICS_TOKEN when set.
 */
@Injectable()
export class MetricsAccessGuard implements CanActivate {
  private readonly ownPort: boolean;
  private readonly token: string | undefined;

  constructor(config: ConfigService<AllConfig, true>) {
    this.ownPort = config.get('METRICS_PORT', { infer: true }) !== undefined;
    this.token = config.get('METRICS_TOKEN', { infer: true });
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (this.ownPort) throw new NotFoundException(`Cannot ${request.method} ${request.url.split('?')[0]}`);
    const refusal = metricsTokenRefusal(request.headers.authorization, this.token);
    if (refusal) throw refusal;
    return true;
  }
}
