import { CallHandler, createParamDecorator, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { catchError, type Observable } from 'rxjs';
import { DomainError, StoredResponse } from '../../common/errors/domain-error.js';
import type { AllConfig } from '../../config/env.js';
import { callerIdentities } from '../auth/caller-identity.config.js';
import type { CallerIdentityResolver } from '../auth/caller-identity.js';
import { HttpMetrics } from '../http-metrics.js';
import { idempotencyKeyOf, inProgress, keyReused, successStatusOf } from './idempotency.interceptor.js';
import { IdempotencyService } from './idempotency.service.js';

/** A request's Idempotency-Key as a route that keeps it on the row it makes stores it. */
export interface RequestKey {
  /** Whose key it is (IdempotencyService.scopeOf). */
  scope: string;
  key: string;
  /** What a repeat must match (IdempotencyService.requestHash: method, path, canonical body). */
  requestHash: string;
  /** How long a key is kept (IDEMPOTENCY_TTL_H), counted from its row's creation: an older one is free again. */
  ttlHours: number;
}

/**
 * What a handler throws when the row its statement would make already carries the
 * request's key: the interceptor turns it into the answer to a repeat.
 */
export class KeyAlreadyUsed extends Error {
  constructor(
    /** The hash of the key's first request, which this one must match. */
    readonly firstHash: string,
    /** The first request's answer (its success body), rebuilt from its row; null while it is still running. */
    readonly firstAnswer: unknown,
    /** The first request's path, when the handler knows it differs from this one's (422's detail). */
    readonly firstPath?: string,
  ) {
    super('Idempotency-Key already used');
    this.name = 'KeyAlreadyUsed';
  }
}

const REQUEST_KEY = Symbol('hookline.idempotency.requestKey');
type KeyedRequest = FastifyRequest & { [REQUEST_KEY]?: RequestKey };

/** The request's Idempotency-Key as IdempotencyOnRowInterceptor handed it on; null without one. */
export function requestKeyOf(req: FastifyRequest): RequestKey | null {
  return (req as KeyedRequest)[REQUEST_KEY] ?? null;
}

/** The handler's parameter: the request's Idempotency-Key (IdempotencyOnRowInterceptor), null without one. */
export const RowKey = createParamDecorator((_: unknown, context: ExecutionContext): RequestKey | null =>
  requestKeyOf(context.switchToHttp().getRequest<FastifyRequest>()),
);

/**
 * Stripe's Idempotency-Key semantics, as IdempotencyInterceptor answers them, for a route
 * that keeps the key on the row it creates (a unique key column, as Stripe keeps it):
 * that row's INSERT is the key's claim and its stored answer, so the route sends no
 * statement to idempotency_keys (docs/decisions/0031-shop-idempotency-on-row.md).
 *
 * The interceptor checks the header, computes the key's scope (the caller's API key) and
 * the request's hash, and hands them to the handler (`@RowKey()`). The handler stores them
 * with its row; when the row exists already it throws KeyAlreadyUsed, which is answered:
 * - another request (method, path or body) → 422 IDEMPOTENCY.KEY_REUSED;
 * - the first request still running → 409 IDEMPOTENCY.REQUEST_IN_PROGRESS, Retry-After;
 * - otherwise the first answer again, `Idempotency-Replay: true`.
 * An error leaves no row carrying the key (the handler's to ensure), so a retry runs again.
 */
@Injectable()
export class IdempotencyOnRowInterceptor implements NestInterceptor {
  private readonly identities: CallerIdentityResolver;
  private readonly ttlHours: number;

  constructor(
    private readonly reflector: Reflector,
    private readonly metrics: HttpMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.identities = callerIdentities(config);
    this.ttlHours = config.get('IDEMPOTENCY_TTL_H', { infer: true });
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<KeyedRequest>();
    const key = idempotencyKeyOf(req);
    if (key === undefined) return next.handle();
    const path = req.url.split('?')[0];
    const requestKey: RequestKey = {
      scope: IdempotencyService.scopeOf(this.identities.resolve(req)),
      key,
      requestHash: IdempotencyService.requestHash(req.method, path, req.body),
      ttlHours: this.ttlHours,
    };
    req[REQUEST_KEY] = requestKey;
    return next.handle().pipe(
      catchError((err: unknown) => {
        if (!(err instanceof KeyAlreadyUsed)) throw err;
        throw this.repeatAnswer(context, req, requestKey, err, path);
      }),
    );
  }

  private repeatAnswer(
    context: ExecutionContext,
    req: FastifyRequest,
    key: RequestKey,
    used: KeyAlreadyUsed,
    path: string,
  ): DomainError | StoredResponse {
    const route = req.routeOptions.url ?? 'unknown';
    if (used.firstHash !== key.requestHash) {
      this.metrics.idempotentRequests.inc({ route, outcome: 'mismatch' });
      return keyReused(req.method, used.firstPath ?? path);
    }
    if (used.firstAnswer === null) {
      this.metrics.idempotentRequests.inc({ route, outcome: 'in_flight' });
      return inProgress();
    }
    this.metrics.idempotentRequests.inc({ route, outcome: 'replayed' });
    return new StoredResponse(
      successStatusOf(this.reflector, context, req),
      JSON.stringify(used.firstAnswer),
      'application/json',
    );
  }
}
