import { randomUUID } from 'node:crypto';
import { SigningSecrets } from '../../../src/webhooks/outbound/signing-secrets.js';
import { admin, register } from '../../factories/endpoints.factory.js';
import { http } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { startSink, type Sink } from '../../utils/http-sink.js';
import { ok, sendTest, settled, useOutboundApp } from '../../utils/outbound.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

describe('outbound webhooks: SSRF and auto-disable', () => {
  let t: TestApp;
  let s: Sink;
  const sinks = useOutboundApp(
    {
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      WEBHOOK_RETRY_SCHEDULE: '300ms,300ms,300ms,300ms,300ms,300ms',
      WEBHOOK_DISABLE_AFTER: '1s',
    },
    (app) => (t = app),
  );
  beforeAll(async () => {
    s = await sinks.sink(() => Promise.resolve({ status: 500 }));
  });

  it.each([
    ['http://127.0.0.2:8080/hook', /127\.0\.0\.2 is a loopback address/],
    ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a link-local/],
    ['http://10.1.2.3/hook', /10\.1\.2\.3 is a private address/],
    ['http://[::1]:8080/hook', /::1 is a loopback address/],
    ['http://[::ffff:192.168.0.1]/hook', /192\.168\.0\.1/],
    ['http://user:pass@example.com/hook', /credentials/],
  ])('refuses %s at registration with 422', async (url, reason) => {
    const res = await http(t.url, 'POST', '/webhook-endpoints', { url }, admin);
    expect(res).toMatchObject({ status: 422, body: { code: 'WEBHOOK_ENDPOINT.URL_REFUSED' } });
    expect(res.body.detail).toMatch(reason);
  });

  it('refuses at connect time what registration could not tell, as a failed attempt with a clear error', async () => {
    const target = await startSink(ok);
    try {
      // As if the name had resolved elsewhere when it was registered: the row points at a refused address.
      const id = randomUUID();
      const sealed = t.app
        .get(SigningSecrets)
        .seal(id, { secret: `whsec_${Buffer.from('x'.repeat(24)).toString('base64')}`, previousSecret: null });
      await t.db.query(
        `INSERT INTO webhook_endpoints (id, owner, url, secret_sealed, sealing_key_id) VALUES ($1, 'shop', $2, $3, $4)`,
        [id, target.url.replace('127.0.0.1', '127.0.0.3') + '/hook', sealed.sealedSecret, sealed.sealingKeyId],
      );
      const d = await settled(t, await sendTest(t, id));
      expect(d.attemptHistory[0].error).toMatch(
        /^refused to connect to 127\.0\.0\.3: 127\.0\.0\.3 is a loopback address \(not in WEBHOOK_ALLOWED_CIDRS\)/,
      );
      expect(d.attemptHistory[0].statusCode).toBeNull();
      expect(target.requests).toHaveLength(0);
    } finally {
      await target.close();
    }
  });

  it('disables an endpoint that fails for longer than WEBHOOK_DISABLE_AFTER, with the reason', async () => {
    const ep = await register(t, `${s.url}/hook`);
    const d = await settled(t, await sendTest(t, ep.id));
    expect(d.status).toBe('failed');
    // Attempts 300 ms apart: the one at or after 1 s of failing disables it, before the schedule runs out.
    expect(d.attempts).toBeLessThan(7);
    const endpoint = (await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin)).body;
    expect(endpoint.status).toBe('disabled');
    expect(endpoint.disabledReason).toMatch(/^no successful delivery since .* \(failing longer than 1s\)$/);
    // Re-enabled, it gets new messages (and only those).
    await http(t.url, 'PATCH', `/webhook-endpoints/${ep.id}`, { status: 'enabled' }, admin);
    const before = s.requests.length;
    await sendTest(t, ep.id);
    await waitFor('a new attempt', () => Promise.resolve(s.requests.length > before));
    const ids = new Set(s.requests.slice(before).map((r) => r.headers['webhook-id']));
    expect(ids.has(d.eventId)).toBe(false);
  });
});
