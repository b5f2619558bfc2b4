import type { CallerIdentity } from '../auth/caller-identity.js';
import { IdempotencyService, canonicalJson } from './idempotency.service.js';

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
