import { admin, register } from '../../factories/endpoints.factory.js';
import { http } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { startHttpsSink, startSilentServer } from '../../utils/https-sink.js';
import { DELIVERY_ENV, delivery, sendTest, settled, useOutboundApp } from '../../utils/outbound.js';
import { asn1Time, TestPki } from '../../utils/test-pki.js';

jest.setTimeout(30_000);

const DAY_MS = 86_400_000;
const pki = new TestPki();

/** The samples of one counter in a /metrics scrape, by its labels. */
async function metric(t: TestApp, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(want));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('outbound webhooks over TLS: verified against OUTBOUND_CA_FILE, each failure with its reason', () => {
  let t: TestApp;
  const closers: (() => Promise<void>)[] = [];
  useOutboundApp(
    {
      ...DELIVERY_ENV,
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms',
      WEBHOOK_ATTEMPT_TIMEOUT_MS: '1500',
      OUTBOUND_CA_FILE: pki.ca.cert,
    },
    (app) => (t = app),
  );
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    pki.remove();
  });

  const httpsSink = async (...args: Parameters<TestPki['leaf']>) => {
    const sink = await startHttpsSink(pki.leaf(...args));
    closers.push(sink.close);
    return sink;
  };

  it('delivers to an endpoint whose certificate the extra CA signed', async () => {
    const sink = await httpsSink('valid');
    const ep = await register(t, `https://127.0.0.1:${sink.port}/hook`);
    const d = await settled(t, await sendTest(t, ep.id));
    expect(d).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200 });
    expect(sink.received()).toBe(1);
  });

  it.each([
    ['unknown_ca', 'certificate signed by an unknown CA', () => httpsSink('stranger', {}, pki.otherCa)],
    [
      'expired',
      'certificate expired',
      () =>
        httpsSink('expired', { startDate: asn1Time(Date.now() - 30 * DAY_MS), endDate: asn1Time(Date.now() - DAY_MS) }),
    ],
    [
      'not_yet_valid',
      'certificate not yet valid',
      () =>
        httpsSink('future', { startDate: asn1Time(Date.now() + DAY_MS), endDate: asn1Time(Date.now() + 30 * DAY_MS) }),
    ],
    [
      'hostname_mismatch',
      'certificate does not match the hostname',
      () => httpsSink('elsewhere', { san: ['DNS:elsewhere.example'] }),
    ],
    ['handshake_timeout', 'TLS handshake timed out', startSilentServerClosed],
  ])('records %s on every attempt, retries it like any failure, and counts it', async (reason, text, start) => {
    const target = await start();
    const before = await metric(t, 'hookline_webhook_delivery_tls_failures_total', { owner: 'shop', reason });
    const ep = await register(t, `https://127.0.0.1:${target.port}/hook`);
    const id = await sendTest(t, ep.id);
    const d = await settled(t, id);
    // 1 + 2 retries, each failing for the same recorded reason; nothing reached the endpoint's handler.
    expect(d).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: null });
    for (const a of d.attemptHistory) {
      expect(a).toMatchObject({ succeeded: false, statusCode: null });
      expect(a.error).toContain(`tls ${reason}: ${text}`);
    }
    expect(target.received()).toBe(0);
    expect(await metric(t, 'hookline_webhook_delivery_tls_failures_total', { owner: 'shop', reason })).toBe(before + 3);
    // The endpoint page shows the reason.
    const page = await fetch(`${t.url}/ui/webhook-endpoints/${ep.id}`, {
      headers: { authorization: admin.authorization },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`tls ${reason}`);
    expect((await delivery(t, id)).lastError).toContain(reason);
  });

  /** A silent server, in the shape of a sink: it never answers, so `received` stays 0. */
  async function startSilentServerClosed() {
    const server = await startSilentServer();
    closers.push(server.close);
    return { port: server.port, received: () => 0 };
  }
});

describe('outbound webhooks: https-only endpoints (WEBHOOK_HTTPS_ONLY)', () => {
  let t: TestApp;
  useOutboundApp(
    { ...DELIVERY_ENV, WEBHOOK_HTTPS_ONLY: 'true', WEBHOOK_HTTP_ALLOWED_HOSTS: 'localhost' },
    (app) => (t = app),
  );

  it('refuses an http:// endpoint with 422 WEBHOOK_ENDPOINT.HTTPS_REQUIRED and stores nothing', async () => {
    const url = 'http://127.0.0.1:9/hook';
    const res = await http(t.url, 'POST', '/webhook-endpoints', { url }, admin);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'WEBHOOK_ENDPOINT.HTTPS_REQUIRED' });
    expect(res.body.detail).toContain('WEBHOOK_HTTP_ALLOWED_HOSTS');
    const [{ n }] = await t.db.query('SELECT count(*)::int AS n FROM webhook_endpoints WHERE url = $1', [url]);
    expect(n).toBe(0);
  });

  it('takes https:// endpoints, and http:// ones on a host the operator allows', async () => {
    expect((await http(t.url, 'POST', '/webhook-endpoints', { url: 'https://127.0.0.1:9/hook' }, admin)).status).toBe(
      201,
    );
    expect((await http(t.url, 'POST', '/webhook-endpoints', { url: 'http://localhost:9/hook' }, admin)).status).toBe(
      201,
    );
  });

  it('refuses to change an endpoint to http:// too', async () => {
    const ep = await register(t, 'https://127.0.0.1:9/other');
    const res = await http(t.url, 'PATCH', `/webhook-endpoints/${ep.id}`, { url: 'http://127.0.0.1:9/other' }, admin);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'WEBHOOK_ENDPOINT.HTTPS_REQUIRED' });
  });
});
