import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { StoredResponse } from '../../common/errors/domain-error.js';
import type { AllConfig } from '../../config/env.js';
import { callerIdentities } from '../auth/caller-identity.config.js';
import type { CallerIdentityResolver } from '../auth/caller-identity.js';
import { HttpMetrics } from '../http-metrics.js';
import { idempotencyKeyOf, keyReused } from './idempotency.interceptor.js';
import { IdempotencyService } from './idempotency.service.js';

/** A request's Idempotency-Key as a route that stores it on its own row keeps it. */
export interface RequestKey {
  /** Whose key it is (IdempotencyService.scopeOf). */
  scope: string;
  key: string;
  /** What a repeat must match (IdempotencyService.requestHash). */
  requestHash: string;
  /** How long a key is kept (IDEMPOTENCY_TTL_H): an older one is free again. */
  ttlHours: number;
}

/**
 * Idempotency-Key for a route whose one INSERT is both the claim and the stored answer (a
 * unique key column on the row it makes, as Stripe keeps it), instead of the
 * interceptor's claim and answer in idempotency_keys (docs/decisions/0026-psp-native-idempotency.md).
 * The header, its scope and the request's hash are the interceptor's, and so are the
 * answers to a repeat: the first answer again with `Idempotency-Replay: true`, or 422
 * IDEMPOTENCY.KEY_REUSED for another request. A single INSERT has no in-flight state, so
 * no 409.
 */
@Injectable()
export class NativeIdempotency {
  private readonly identities: CallerIdentityResolver;
  readonly ttlHours: number;

  constructor(
    private readonly metrics: HttpMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.identities = callerIdentities(config);
    this.ttlHours = config.get('IDEMPOTENCY_TTL_H', { infer: true });
  }

  /** The request's key, null without one; 400 IDEMPOTENCY.KEY_INVALID for a malformed one. */
  keyOf(req: FastifyRequest): RequestKey | null {
    const key = idempotencyKeyOf(req);
    if (key === undefined) return null;
    return {
      scope: IdempotencyService.scopeOf(this.identities.resolve(req)),
      key,
      requestHash: IdempotencyService.requestHash(req.method, req.url.split('?')[0], req.body),
      ttlHours: this.ttlHours,
    };
  }

  /** Answers a repeat of `key` whose first request (hash `firstHash`) was answered `status` `body`. */
  repeat(req: FastifyRequest, key: RequestKey, firstHash: string, status: number, body: unknown): never {
    const route = req.routeOptions.url ?? 'unknown';
    if (firstHash !== key.requestHash) {
      this.metrics.idempotentRequests.inc({ route, outcome: 'mismatch' });
      throw keyReused(req.method, req.url.split('?')[0]);
    }
    this.metrics.idempotentRequests.inc({ route, outcome: 'replayed' });
    throw new StoredResponse(status, JSON.stringify(body), 'application/json');
  }
}
