import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../config/env.js';
import type { CallerIdentity } from '../auth/caller-identity.js';
import type { IdempotencyKey } from './idempotency-key.entity.js';
import type { IdempotencyAnswer, IdempotencyKeysRepository, NewIdempotencyKey } from './idempotency-keys.repository.js';
import { IdempotencyService, canonicalJson, type ClaimRequest } from './idempotency.service.js';

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('drops undefined properties like JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });
});

describe('IdempotencyService.requestHash', () => {
  const body = { currency: 'USD', items: [{ sku: 'A', quantity: 1 }] };

  it('is the same for the same request whatever the key order', () => {
    const reordered = { items: [{ quantity: 1, sku: 'A' }], currency: 'USD' };
    expect(IdempotencyService.requestHash('POST', '/orders', body)).toBe(
      IdempotencyService.requestHash('POST', '/orders', reordered),
    );
  });

  it('differs for another body, path or method', () => {
    const h = IdempotencyService.requestHash('POST', '/orders', body);
    expect(IdempotencyService.requestHash('POST', '/orders', { ...body, currency: 'EUR' })).not.toBe(h);
    expect(IdempotencyService.requestHash('POST', '/orders/x/payments', body)).not.toBe(h);
    expect(IdempotencyService.requestHash('PUT', '/orders', body)).not.toBe(h);
  });
});

describe('IdempotencyService.scopeOf', () => {
  const keyCaller = (id: string): CallerIdentity => ({ kind: 'key', id, realms: ['shop'], scheme: 'bearer' });
  const anonymous = (address: string): CallerIdentity => ({ kind: 'anonymous', address, scheme: 'bearer' });

  it('scopes by the key id of the caller, whatever else the request carried', () => {
    expect(IdempotencyService.scopeOf(keyCaller('0123456789abcdef'))).toBe('key:0123456789abcdef');
    expect(IdempotencyService.scopeOf(keyCaller('fedcba9876543210'))).not.toBe(
      IdempotencyService.scopeOf(keyCaller('0123456789abcdef')),
    );
  });

  it('scopes a caller without a key by a hash of its address, never the address itself', () => {
    const a = IdempotencyService.scopeOf(anonymous('203.0.113.7'));
    expect(a).not.toContain('203.0.113.7');
    expect(a).toBe(IdempotencyService.scopeOf(anonymous('203.0.113.7')));
    expect(a).not.toBe(IdempotencyService.scopeOf(anonymous('203.0.113.8')));
  });
});

/**
 * idempotency_keys in memory, as TypeormIdempotencyKeysRepository keeps it: one row per
 * (scope, key); `takeOver` relocks an in-flight row only when its lock is older than the
 * timeout it is given, on the fake's clock (`now`, ms).
 */
class FakeKeys implements IdempotencyKeysRepository {
  now = Date.parse('2026-12-05T12:00:00Z');
  readonly rows: IdempotencyKey[] = [];
  readonly completed: [id: string, answer: Required<IdempotencyAnswer>][] = [];
  readonly released: string[] = [];
  readonly purges: number[] = [];
  purgeAnswer = 0;

  claim(c: NewIdempotencyKey): Promise<string | null> {
    if (this.rows.some((r) => r.scope === c.scope && r.key === c.key)) return Promise.resolve(null);
    const row = {
      ...c,
      id: `claim-${this.rows.length + 1}`,
      status: 'in_flight',
      responseStatus: null,
      responseBody: null,
      responseContentType: null,
      responseHeaders: null,
      createdAt: new Date(this.now),
      lockedAt: new Date(this.now),
      completedAt: null,
    } satisfies IdempotencyKey;
    this.rows.push(row);
    return Promise.resolve(row.id);
  }

  findByKey(scope: string, key: string): Promise<IdempotencyKey | null> {
    return Promise.resolve(this.rows.find((r) => r.scope === scope && r.key === key) ?? null);
  }

  takeOver(id: string, lockTimeoutMs: number): Promise<boolean> {
    const row = this.rows.find((r) => r.id === id && r.status === 'in_flight');
    if (!row || row.lockedAt.getTime() >= this.now - lockTimeoutMs) return Promise.resolve(false);
    row.lockedAt = new Date(this.now);
    return Promise.resolve(true);
  }

  complete(id: string, answer: Required<IdempotencyAnswer>): Promise<void> {
    this.completed.push([id, answer]);
    const row = this.rows.find((r) => r.id === id)!;
    Object.assign(row, {
      status: 'completed',
      responseStatus: answer.status,
      responseBody: answer.body,
      responseContentType: answer.contentType,
      responseHeaders: answer.headers,
      completedAt: new Date(this.now),
    });
    return Promise.resolve();
  }

  release(id: string): Promise<void> {
    this.released.push(id);
    return Promise.resolve();
  }

  deleteOlderThan(hours: number): Promise<number> {
    this.purges.push(hours);
    return Promise.resolve(this.purgeAnswer);
  }
}

describe('IdempotencyService over its repository', () => {
  beforeAll(() => Logger.overrideLogger(false));

  const request = (over: Partial<ClaimRequest> = {}): ClaimRequest => ({
    scope: 'key:0123456789abcdef',
    key: 'k-1',
    method: 'POST',
    path: '/v1/payment_intents',
    body: { amount: '700', currency: 'usd' },
    ...over,
  });

  function setUp(keys: IdempotencyKeysRepository = new FakeKeys()) {
    const config = { get: (name: string) => ({ IDEMPOTENCY_TTL_H: 36 })[name] } as unknown as ConfigService<
      AllConfig,
      true
    >;
    return new IdempotencyService(keys, config);
  }

  it("claims a new key with the request's hash, method and path: 'new'", async () => {
    const keys = new FakeKeys();
    const claim = await setUp(keys).claim(request());
    expect(claim).toEqual({ kind: 'new', id: 'claim-1' });
    expect(keys.rows).toHaveLength(1);
    expect(keys.rows[0]).toMatchObject({
      scope: 'key:0123456789abcdef',
      key: 'k-1',
      method: 'POST',
      path: '/v1/payment_intents',
      requestHash: IdempotencyService.requestHash('POST', '/v1/payment_intents', { amount: '700', currency: 'usd' }),
    });
  });

  it("answers a repeat of a completed request (keys in another order) 'replay' with its row", async () => {
    const keys = new FakeKeys();
    const service = setUp(keys);
    const first = await service.claim(request());
    await service.complete((first as { id: string }).id, { status: 200, body: '{}', contentType: 'application/json' });
    const again = await service.claim(request({ body: { currency: 'usd', amount: '700' } }));
    expect(again).toMatchObject({ kind: 'replay', row: { id: 'claim-1', responseStatus: 200 } });
  });

  it("answers another request with the key 'mismatch', completed or abandoned, and takes nothing over", async () => {
    const keys = new FakeKeys();
    const service = setUp(keys);
    await service.claim(request());
    keys.now += 10 * 60_000; // the first claim is long abandoned
    const other = await service.claim(request({ body: { amount: '800', currency: 'usd' } }));
    expect(other).toMatchObject({ kind: 'mismatch', row: { id: 'claim-1', path: '/v1/payment_intents' } });
    expect(await service.claim(request({ path: '/v1/refunds' }))).toMatchObject({ kind: 'mismatch' });
    expect(keys.rows[0].lockedAt.getTime()).toBe(keys.now - 10 * 60_000);

    await service.complete('claim-1', { status: 200, body: '{}', contentType: 'application/json' });
    expect(await service.claim(request({ method: 'PUT' }))).toMatchObject({ kind: 'mismatch' });
  });

  it(`answers a repeat while the first runs 'in_flight', up to IDEMPOTENCY_LOCK_TIMEOUT_MS (60 s)`, async () => {
    const keys = new FakeKeys();
    const service = setUp(keys);
    await service.claim(request());
    keys.now += 59_000;
    expect(await service.claim(request())).toEqual({ kind: 'in_flight' });
    keys.now += 1_000; // exactly 60 s: not yet abandoned
    expect(await service.claim(request())).toEqual({ kind: 'in_flight' });
  });

  it("takes over a claim locked more than 60 s ago: 'new' with the same row, locked again", async () => {
    const keys = new FakeKeys();
    const service = setUp(keys);
    await service.claim(request());
    keys.now += 60_001;
    expect(await service.claim(request())).toEqual({ kind: 'new', id: 'claim-1' });
    expect(keys.rows[0].lockedAt.getTime()).toBe(keys.now);
    // Taken over now, so a third attempt waits again.
    expect(await service.claim(request())).toEqual({ kind: 'in_flight' });
  });

  it('claims again when the row it collided with was released before it read it', async () => {
    const claims = [null, null, 'claim-9'];
    const racing: Partial<IdempotencyKeysRepository> = {
      claim: () => Promise.resolve(claims.shift() ?? null),
      findByKey: () => Promise.resolve(null),
    };
    expect(await setUp(racing as IdempotencyKeysRepository).claim(request())).toEqual({ kind: 'new', id: 'claim-9' });
    expect(claims).toEqual([]);
  });

  it('stores an answer without headers with none ({}), and one with headers as given', async () => {
    const keys = new FakeKeys();
    const service = setUp(keys);
    await service.claim(request());
    await service.claim(request({ key: 'k-2' }));
    await service.complete('claim-1', { status: 201, body: '{"id":1}', contentType: 'application/json' });
    await service.complete('claim-2', { status: 404, body: '{}', contentType: 'x', headers: { 'x-a': '1' } });
    expect(keys.completed).toEqual([
      ['claim-1', { status: 201, body: '{"id":1}', contentType: 'application/json', headers: {} }],
      ['claim-2', { status: 404, body: '{}', contentType: 'x', headers: { 'x-a': '1' } }],
    ]);
  });

  it('purges the keys older than IDEMPOTENCY_TTL_H and answers how many', async () => {
    const keys = new FakeKeys();
    keys.purgeAnswer = 3;
    expect(await setUp(keys).purgeExpired()).toBe(3);
    expect(keys.purges).toEqual([36]);
  });
});
