import { QueueName } from '../../src/queue/queues.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { ADMIN_KEY, SHOP_KEY } from '../utils/test-env.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The queue dashboard (Bull Board) is raw Fastify routes: its own hook, not Nest's guards, protects it. */
describe('queue dashboard at /queues', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.url}${path}`, { headers });

  async function expectRefused(res: Response, code: string) {
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="Hookline queues"');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 401, code });
  }

  it('answers 401 problem+json with a Basic challenge without a key, on the page, its API and its assets', async () => {
    const page = await get('/queues', { authorization: `Bearer ${ADMIN_KEY}` });
    const asset = /(?:src|href)="([^"]*static[^"]+)"/.exec(await page.text())?.[1];
    expect(asset).toBeDefined();
    const assetPath = asset!.startsWith('/') ? asset! : `/queues/${asset!}`;
    expect((await get(assetPath, { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(200);

    for (const path of [
      '/queues',
      '/queues/',
      '/queues/api/queues',
      `/queues/queue/${QueueName.WebhookInbox}`,
      assetPath,
    ]) {
      await expectRefused(await get(path), 'AUTH.MISSING_KEY');
    }
    // Scoped to the board: the rest of the app does not ask for it.
    expect((await get('/health/live')).status).toBe(200);
  });

  it('refuses the shop key and a wrong key, as Bearer and as Basic password', async () => {
    await expectRefused(await get('/queues', { authorization: `Bearer ${SHOP_KEY}` }), 'AUTH.INVALID_KEY');
    await expectRefused(await get('/queues', { authorization: basic('admin', SHOP_KEY) }), 'AUTH.INVALID_KEY');
    await expectRefused(await get('/queues', { authorization: basic(ADMIN_KEY, '') }), 'AUTH.INVALID_KEY');
    await expectRefused(
      await get('/queues/api/queues', { authorization: 'Bearer sk_wrong_0123456789abcdef' }),
      'AUTH.INVALID_KEY',
    );
    await expectRefused(await get('/queues', { authorization: 'Digest username="x"' }), 'AUTH.MISSING_KEY');
  });

  it('serves the board to the admin key, as Bearer and as Basic password with any user name', async () => {
    for (const authorization of [`Bearer ${ADMIN_KEY}`, basic('anyone', ADMIN_KEY), basic('', ADMIN_KEY)]) {
      const res = await get('/queues', { authorization });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      const html = await res.text();
      expect(html).toContain('<base href="/queues/"');
      expect(html).toContain('Hookline queues');
    }
  });

  it("lists every queue the 'all' role registers in its JSON API", async () => {
    const res = await get('/queues/api/queues', { authorization: basic('ops', ADMIN_KEY) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(Object.values(QueueName).sort());
  });

  it('refuses a cross-site change made with browser (Basic) credentials, not one made with Bearer', async () => {
    const path = `/queues/api/queues/${QueueName.PaymentPoll}/resume`;
    const crossSite = { 'sec-fetch-site': 'cross-site' };
    const viaBrowser = await fetch(`${t.url}${path}`, {
      method: 'PUT',
      headers: { ...crossSite, authorization: basic('ops', ADMIN_KEY) },
    });
    expect(viaBrowser.status).toBe(403);
    expect((await viaBrowser.json()).code).toBe('AUTH.CROSS_SITE_REQUEST');
    const sameOrigin = await fetch(`${t.url}${path}`, {
      method: 'PUT',
      headers: { 'sec-fetch-site': 'same-origin', authorization: basic('ops', ADMIN_KEY) },
    });
    expect(sameOrigin.status).toBe(200);
    const viaBearer = await fetch(`${t.url}${path}`, {
      method: 'PUT',
      headers: { ...crossSite, authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(viaBearer.status).toBe(200);
  });

  it('shows only the PSP queues in the psp role', async () => {
    const psp = await createTestApp({ APP_ROLE: 'psp' });
    try {
      const res = await fetch(`${psp.url}/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { queues: { name: string }[] };
      expect(body.queues.map((q) => q.name).sort()).toEqual([QueueName.PspDelivery, QueueName.PspSettlement].sort());
    } finally {
      await psp.close();
    }
  });
});
