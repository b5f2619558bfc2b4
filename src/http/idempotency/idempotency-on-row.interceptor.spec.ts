import type { CallHandler, ExecutionContext } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { firstValueFrom, of, throwError } from 'rxjs';
import { DomainError, StoredResponse } from '../../common/errors/domain-error.js';
import type { AllConfig } from '../../config/env.js';
import type { HttpMetrics } from '../http-metrics.js';
import {
  IdempotencyOnRowInterceptor,
  KeyAlreadyUsed,
  requestKeyOf,
  type RequestKey,
} from './idempotency-on-row.interceptor.js';
import { IdempotencyService } from './idempotency.service.js';

const SHOP_KEY = 'sk_shop_unit_0123456789abcdef';

function setUp() {
  const config = {
    get: (name: string) =>
      ({ API_KEYS: SHOP_KEY, ADMIN_API_KEYS: '', PSP_API_KEY: 'sk_psp_unit_0123456789', IDEMPOTENCY_TTL_H: 24 })[name],
  } as unknown as ConfigService<AllConfig, true>;
  const outcomes: Record<string, string>[] = [];
  const metrics = {
    idempotentRequests: new Counter({
      name: 'x',
      help: 'x',
      labelNames: ['route', 'outcome'],
      registers: [new Registry()],
    }),
  } as unknown as HttpMetrics;
  const inc = metrics.idempotentRequests.inc.bind(metrics.idempotentRequests);
  (metrics.idempotentRequests as unknown as { inc: (l: Record<string, string>) => void }).inc = (l) => {
    outcomes.push(l);
    inc(l);
  };
  const interceptor = new IdempotencyOnRowInterceptor(new Reflector(), metrics, config);
  const request = (key?: string, body: unknown = { currency: 'EUR' }) =>
    ({
      method: 'POST',
      url: '/orders?x=1',
      body,
      headers: { authorization: `Bearer ${SHOP_KEY}`, ...(key === undefined ? {} : { 'idempotency-key': key }) },
      socket: { remoteAddress: '127.0.0.1' },
      ip: '127.0.0.1',
      routeOptions: { url: '/orders' },
    }) as unknown as FastifyRequest;
  const contextOf = (req: FastifyRequest) =>
    ({
      switchToHttp: () => ({ getRequest: () => req }),
      getHandler: () => function handler() {},
    }) as unknown as ExecutionContext;
  /** Runs the interceptor around a handler that sees the request's key and answers `answer(key)`. */
  const run = async (req: FastifyRequest, answer: (key: RequestKey | null) => unknown) => {
    let seen: RequestKey | null = null;
    const next: CallHandler = {
      handle: () => {
        seen = requestKeyOf(req);
        try {
          return of(answer(seen));
        } catch (err) {
          return throwError(() => err);
        }
      },
    };
    const result: { value?: unknown; error?: unknown } = await firstValueFrom(
      interceptor.intercept(contextOf(req), next),
    ).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    return { seen: seen as RequestKey | null, ...result };
  };
  return { run, request, outcomes };
}

describe('IdempotencyOnRowInterceptor', () => {
  it('hands the handler no key without the header', async () => {
    const { run, request } = setUp();
    const { seen, value } = await run(request(), () => 'created');
    expect(seen).toBeNull();
    expect(value).toBe('created');
  });

  it("hands the handler the key with the caller's scope and the request's hash (path without its query)", async () => {
    const { run, request } = setUp();
    const { seen } = await run(request('k-1'), () => 'created');
    expect(seen).toMatchObject({ key: 'k-1', ttlHours: 24 });
    expect(seen!.scope).toMatch(/^key:/);
    expect(seen!.scope).not.toContain(SHOP_KEY);
    expect(seen!.requestHash).toBe(IdempotencyService.requestHash('POST', '/orders', { currency: 'EUR' }));
  });

  it('refuses a malformed key with 400 IDEMPOTENCY.KEY_INVALID before the handler runs', async () => {
    const { run, request } = setUp();
    let ran = false;
    await expect(run(request('has space'), () => (ran = true))).rejects.toMatchObject({
      code: 'IDEMPOTENCY.KEY_INVALID',
      status: 400,
    });
    expect(ran).toBe(false);
  });

  it('answers a repeat of the same request with the first answer, as a replay', async () => {
    const { run, request, outcomes } = setUp();
    const { error } = await run(request('k-2'), (key) => {
      throw new KeyAlreadyUsed(key!.requestHash, { id: 'o-1', amount: 5 });
    });
    expect(error).toBeInstanceOf(StoredResponse);
    expect(error).toMatchObject({ status: 201, body: '{"id":"o-1","amount":5}', contentType: 'application/json' });
    expect(outcomes).toEqual([{ route: '/orders', outcome: 'replayed' }]);
  });

  it('answers another request with the key 422 IDEMPOTENCY.KEY_REUSED, naming the first path', async () => {
    const { run, request, outcomes } = setUp();
    const { error } = await run(request('k-3'), () => {
      throw new KeyAlreadyUsed('another-hash', null, '/orders/a/payments');
    });
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY.KEY_REUSED', status: 422 });
    expect((error as Error).message).toContain('POST /orders/a/payments');
    expect(outcomes).toEqual([{ route: '/orders', outcome: 'mismatch' }]);
  });

  it('answers a repeat while the first request runs 409 IDEMPOTENCY.REQUEST_IN_PROGRESS with Retry-After', async () => {
    const { run, request, outcomes } = setUp();
    const { error } = await run(request('k-4'), (key) => {
      throw new KeyAlreadyUsed(key!.requestHash, null);
    });
    expect(error).toMatchObject({
      code: 'IDEMPOTENCY.REQUEST_IN_PROGRESS',
      status: 409,
      headers: { 'retry-after': '1' },
    });
    expect(outcomes).toEqual([{ route: '/orders', outcome: 'in_flight' }]);
  });

  it("passes the handler's own errors on untouched", async () => {
    const { run, request, outcomes } = setUp();
    const failure = new DomainError('ORDER.AMOUNT_ZERO', 422, 'zero');
    const { error } = await run(request('k-5'), () => {
      throw failure;
    });
    expect(error).toBe(failure);
    expect(outcomes).toEqual([]);
  });
});
