import { http } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PSP_KEY } from '../utils/test-env.js';

describe('operations: health, Swagger, roles', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('reports liveness and readiness of PostgreSQL and Redis', async () => {
    expect((await http(t.url, 'GET', '/health/live', undefined, {})).body).toEqual({ status: 'ok' });
    const ready = await http(t.url, 'GET', '/health/ready', undefined, {});
    expect(ready.status).toBe(200);
    expect(ready.body.details).toMatchObject({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });

  it('serves Swagger UI at /docs and a document with every route and the three key schemes', async () => {
    const ui = await fetch(`${t.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
    const doc = (await http(t.url, 'GET', '/docs-json', undefined, {})).body;
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/health/live',
        '/health/ready',
        '/orders',
        '/orders/{id}',
        '/orders/{id}/payments',
        '/payments/{id}',
        '/psp/v1/chaos',
        '/psp/v1/events',
        '/psp/v1/events/{id}/resend',
        '/psp/v1/payments',
        '/psp/v1/payments/{id}',
        ...managementPaths('/psp/v1'),
        ...managementPaths(''),
        '/event-types',
        '/events',
        '/webhook-endpoints/{id}/undelivered-events',
        '/webhooks/inbox/dead',
        '/webhooks/inbox/replay-dead',
        '/webhooks/inbox/{id}',
        '/webhooks/inbox/{id}/replay',
        '/webhooks/psp',
        '/webhooks/stripe',
        // The PSP mock's Stripe dialect (docs/using-stripe.md)
        '/v1/events',
        '/v1/payment_intents',
        '/v1/payment_intents/{id}',
      ].sort(),
    );
    // OpenAPI 3.1 (for its webhooks section) has no `nullable`: a nullable field is typed [T, 'null'].
    expect(doc.openapi).toBe('3.1.0');
    expect(JSON.stringify(doc)).not.toContain('"nullable"');
    expect(doc.components.schemas.PaymentDto.properties.pspPaymentId.type).toEqual(['string', 'null']);
    // Each operation under one tag: Swagger UI lists it once.
    const tagsOf = (path: string) =>
      Object.values(doc.paths[path] as Record<string, { tags?: string[] }>).map((op) => op.tags);
    expect(tagsOf('/webhook-endpoints/{id}/undelivered-events')).toEqual([['webhook-endpoints']]);
    expect(tagsOf('/events')).toEqual([['events']]);
    const multiTagged = Object.entries(doc.paths as Record<string, Record<string, { tags?: string[] }>>).flatMap(
      ([path, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => (op.tags?.length ?? 0) !== 1)
          .map(([m]) => `${m} ${path}`),
    );
    expect(multiTagged).toEqual([]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['admin', 'psp', 'shop']);
    expect(doc.paths['/orders'].post.security).toEqual([{ shop: [] }]);
    expect(doc.paths['/psp/v1/payments'].post.security).toEqual([{ psp: [] }]);
    expect(doc.paths['/webhook-endpoints'].post.security).toEqual([{ admin: [] }]);
    expect(doc.paths['/psp/v1/webhook-endpoints'].post.security).toEqual([{ psp: [] }]);
    // Error answers are documented as they are sent: RFC 9457 problem+json.
    expect(doc.paths['/orders/{id}'].get.responses['404'].content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    });
    expect(doc.paths['/webhooks/psp'].post.responses['401'].content['application/problem+json']).toBeDefined();
    expect(doc.components.schemas.Problem.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'code']),
    );
    const webhookHeaders = doc.paths['/webhooks/psp'].post.parameters.map((p: { name: string }) => p.name);
    expect(webhookHeaders).toEqual(expect.arrayContaining(['webhook-id', 'webhook-timestamp', 'webhook-signature']));
    const stripeHeaders = doc.paths['/webhooks/stripe'].post.parameters.map((p: { name: string }) => p.name);
    expect(stripeHeaders).toEqual(['Stripe-Signature']);
  });

  it('keeps the PSP API behind its own key', async () => {
    const body = { amount: 100, currency: 'USD' };
    const withShopKey = await http(t.url, 'POST', '/psp/v1/payments', body);
    expect(withShopKey.status).toBe(401);
    const ok = await http(t.url, 'POST', '/psp/v1/payments', body, {
      authorization: `Bearer ${PSP_KEY}`,
      'content-type': 'application/json',
      'idempotency-key': 'ops-test-1',
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ status: 'processing', amount: 100 });
    const again = await http(t.url, 'POST', '/psp/v1/payments', body, {
      authorization: `Bearer ${PSP_KEY}`,
      'content-type': 'application/json',
      'idempotency-key': 'ops-test-1',
    });
    expect(again.body.id).toBe(ok.body.id);
    expect(again.headers.get('idempotency-replay')).toBe('true');
  });

  it('runs only the PSP mock in the psp role', async () => {
    const psp = await createTestApp({ APP_ROLE: 'psp' });
    try {
      expect((await http(psp.url, 'GET', '/orders')).status).toBe(404);
      const res = await http(psp.url, 'GET', '/psp/v1/payments/pay_000000000000000000000000', undefined, {
        authorization: `Bearer ${PSP_KEY}`,
      });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('PSP.PAYMENT_NOT_FOUND');
    } finally {
      await psp.close();
    }
  });
});

/** The outbound webhook management routes, mounted by the shop (admin key) and the PSP mock (its key). */
function managementPaths(prefix: string): string[] {
  return [
    '/webhook-deliveries/{id}',
    '/webhook-deliveries/{id}/retry',
    '/webhook-endpoints',
    '/webhook-endpoints/{id}',
    '/webhook-endpoints/{id}/deliveries',
    '/webhook-endpoints/{id}/recover',
    '/webhook-endpoints/{id}/reveal-secret',
    '/webhook-endpoints/{id}/rotate-secret',
    '/webhook-endpoints/{id}/test',
  ].map((p) => `${prefix}${p}`);
}
