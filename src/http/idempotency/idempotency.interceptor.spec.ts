import type { CallHandler, ExecutionContext } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { firstValueFrom, throwError } from 'rxjs';
import { DomainError } from '../../common/errors/domain-error.js';
import type { AllConfig } from '../../config/env.js';
import type { HttpMetrics } from '../http-metrics.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import type { IdempotencyService } from './idempotency.service.js';

const KEY = 'sk_psp_unit_0123456789abcdef';

/**
 * The claim/answer interceptor's branches after the handler ran, which its e2e route (the
 * Stripe dialect's payment_intents, test/e2e/idempotency.e2e-spec.ts) never reaches: it
 * raises no domain 4xx.
 */
describe('IdempotencyInterceptor, a claimed request that failed', () => {
  function failWith(err: unknown) {
    const calls: unknown[][] = [];
    const service = {
      claim: () => Promise.resolve({ kind: 'new', id: 'claim-1' }),
      complete: (...args: unknown[]) => Promise.resolve(void calls.push(['complete', ...args])),
      release: (...args: unknown[]) => Promise.resolve(void calls.push(['release', ...args])),
    } as unknown as IdempotencyService;
    const config = {
      get: (name: string) => ({ API_KEYS: '', ADMIN_API_KEYS: '', PSP_API_KEY: KEY })[name],
    } as unknown as ConfigService<AllConfig, true>;
    const interceptor = new IdempotencyInterceptor(service, new Reflector(), {} as HttpMetrics, config);
    const req = {
      method: 'POST',
      url: '/v1/payment_intents',
      body: { amount: '700' },
      headers: { authorization: `Bearer ${KEY}`, 'idempotency-key': 'k-1' },
      socket: { remoteAddress: '127.0.0.1' },
      ip: '127.0.0.1',
      routeOptions: { url: '/v1/payment_intents' },
    } as unknown as FastifyRequest;
    const context = {
      switchToHttp: () => ({ getRequest: () => req }),
      getHandler: () => function handler() {},
    } as unknown as ExecutionContext;
    const next: CallHandler = { handle: () => throwError(() => err) };
    const done = interceptor.intercept(context, next).then((answer) => firstValueFrom(answer));
    return { done, calls };
  }

  it('stores a domain 4xx as the answer to replay (problem+json, its headers)', async () => {
    const err = new DomainError('ORDER.NOT_FOUND', 404, 'Order not found', 'No order x.', {}, { 'x-a': '1' });
    const { done, calls } = failWith(err);
    await expect(done).rejects.toBe(err);
    expect(calls).toHaveLength(1);
    const [what, id, response] = calls[0] as [string, string, Record<string, unknown>];
    expect([what, id]).toEqual(['complete', 'claim-1']);
    expect(response).toMatchObject({
      status: 404,
      contentType: 'application/problem+json',
      headers: { 'x-a': '1' },
    });
    expect(JSON.parse(response.body as string)).toMatchObject({
      code: 'ORDER.NOT_FOUND',
      instance: '/v1/payment_intents',
    });
  });

  it('releases the claim after a 5xx or an unexpected error, so a retry runs again', async () => {
    for (const err of [new DomainError('PSP.UNAVAILABLE', 502, 'PSP unavailable'), new Error('boom')]) {
      const { done, calls } = failWith(err);
      await expect(done).rejects.toBe(err);
      expect(calls).toEqual([['release', 'claim-1']]);
    }
  });
});
