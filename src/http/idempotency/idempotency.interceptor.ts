import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import { DomainError, StoredResponse } from '../../common/errors/domain-error.js';
import { PROBLEM_CONTENT_TYPE, domainProblem } from '../../common/errors/problem.js';
import type { AllConfig } from '../../config/env.js';
import { callerIdentities } from '../auth/caller-identity.config.js';
import type { CallerIdentityResolver } from '../auth/caller-identity.js';
import { HttpMetrics, type IdempotencyOutcome } from '../http-metrics.js';
import { IdempotencyService, type Claim } from './idempotency.service.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Nest's @HttpCode metadata key (HTTP_CODE_METADATA in @nestjs/common/constants). */
const HTTP_CODE_METADATA = '__httpCode__';
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/** The request's Idempotency-Key, undefined without one; 400 IDEMPOTENCY.KEY_INVALID for a malformed one. */
export function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  const key = req.headers[IDEMPOTENCY_HEADER];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY_FORMAT.test(key)) {
    throw new DomainError(
      'IDEMPOTENCY.KEY_INVALID',
      400,
      'Invalid Idempotency-Key',
      'Use 1 to 255 printable ASCII characters without spaces, sent once.',
    );
  }
  return key;
}

/** 422 IDEMPOTENCY.KEY_REUSED: the key was first used for another request. */
export function keyReused(method: string, path: string): DomainError {
  return new DomainError(
    'IDEMPOTENCY.KEY_REUSED',
    422,
    'Idempotency-Key reused with a different request',
    `This key was first used for ${method} ${path} with another body; use a new key for a new request.`,
  );
}
/** 409 IDEMPOTENCY.REQUEST_IN_PROGRESS: the key's first request has not finished yet. */
export function inProgress(): DomainError {
  return new DomainError(
    'IDEMPOTENCY.REQUEST_IN_PROGRESS',
    409,
    'A request with this Idempotency-Key is in progress',
    'Retry after the first request has finished.',
    {},
    { 'retry-after': '1' },
  );
}

/** The status of the route's success answer: its @HttpCode, else Nest's default. */
export function successStatusOf(reflector: Reflector, context: ExecutionContext, req: FastifyRequest): number {
  return (
    reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (req.method === 'POST' ? 201 : 200)
  );
}

const OUTCOME: Record<Exclude<Claim['kind'], 'new'>, IdempotencyOutcome> = {
  replay: 'replayed',
  in_flight: 'in_flight',
  mismatch: 'mismatch',
};

/**
 * Stripe's Idempotency-Key semantics for a POST route, with the claim and the answer in
 * idempotency_keys (a route that keeps the key on the row it makes uses
 * IdempotencyOnRowInterceptor instead: docs/decisions/0031-shop-idempotency-on-row.md). Runs after the API-key guard
 * (keys are scoped per caller: the configured API key that matched) and before validation:
 * - same key, same request → the stored status and body again, `Idempotency-Replay: true`;
 * - same key, different request → 422; same key still running → 409 with Retry-After;
 * - a request rejected before the handler ran (validation) or that failed with a 5xx
 *   stores nothing, so a retry with the same key runs again; domain 4xx are stored.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly identities: CallerIdentityResolver;

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly reflector: Reflector,
    private readonly metrics: HttpMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.identities = callerIdentities(config);
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const key = idempotencyKeyOf(req);
    if (key === undefined) return next.handle();
    const path = req.url.split('?')[0];
    const claim = await this.idempotency.claim({
      scope: IdempotencyService.scopeOf(this.identities.resolve(req)),
      key,
      method: req.method,
      path,
      body: req.body,
    });
    if (claim.kind !== 'new') {
      this.metrics.idempotentRequests.inc({ route: req.routeOptions.url ?? 'unknown', outcome: OUTCOME[claim.kind] });
    }
    switch (claim.kind) {
      case 'replay':
        throw new StoredResponse(
          claim.row.responseStatus!,
          claim.row.responseBody!,
          claim.row.responseContentType!,
          claim.row.responseHeaders ?? {},
        );
      case 'mismatch':
        throw keyReused(claim.row.method, claim.row.path);
      case 'in_flight':
        throw inProgress();
      case 'new':
        break;
    }
    const successStatus = successStatusOf(this.reflector, context, req);
    return next.handle().pipe(
      mergeMap((data: unknown) =>
        from(
          this.idempotency
            .complete(claim.id, { status: successStatus, body: JSON.stringify(data), contentType: 'application/json' })
            .then(() => data),
        ),
      ),
      catchError((err: unknown) =>
        from(
          (async () => {
            if (err instanceof DomainError && err.status < 500) {
              await this.idempotency.complete(claim.id, {
                status: err.status,
                body: JSON.stringify(domainProblem(err, path)),
                contentType: PROBLEM_CONTENT_TYPE,
                headers: err.headers,
              });
            } else {
              await this.idempotency.release(claim.id);
            }
            throw err;
          })(),
        ),
      ),
    );
  }
}
