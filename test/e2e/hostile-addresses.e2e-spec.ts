import { createRequire } from 'node:module';
import type { LookupAddress } from 'node:dns';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { startSink } from '../utils/http-sink.js';
import { ADMIN_KEY, PSP_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

jest.setTimeout(30_000);

const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const psp = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };

/**
 * Merchants' endpoints get no exception (WEBHOOK_ALLOWED_CIDRS=none) while the PSP
 * mock's callbacks may call loopback: the compose stack's split, on one machine.
 */
const ENV = {
  WEBHOOK_ALLOWED_CIDRS: 'none',
  PSP_CALLBACK_ALLOWED_CIDRS: '127.0.0.0/8,::1/128',
  WEBHOOK_RETRY_SCHEDULE: '200ms',
};

/** Hostile endpoint URLs by class; PORT is a loopback sink that would answer with an internal secret. */
const HOSTILE: Record<string, string[]> = {
  'loopback literals': [
    'http://127.0.0.1:PORT/hook',
    'http://127.1.2.3:PORT/hook',
    'http://2130706433:PORT/hook 400',
    'http://0x7f.1:PORT/hook 400',
    'http://[::1]:PORT/hook',
  ],
  'IPv4 in IPv6 (mapped, translated, compatible, NAT64)': [
    'http://[::ffff:127.0.0.1]:PORT/hook',
    'http://[::ffff:7f00:1]:PORT/hook',
    'http://[::ffff:0:7f00:1]:PORT/hook',
    'http://[::7f00:1]:PORT/hook',
    'http://[::ffff:8.8.8.8]/hook',
    'http://[64:ff9b::7f00:1]/hook',
    'http://[64:ff9b::a9fe:a9fe]/hook',
    'http://[64:ff9b:1::a00:1]/hook',
  ],
  '6to4 and Teredo': [
    'http://[2002:7f00:1::]/hook',
    'http://[2002:a9fe:a9fe::1]/hook',
    'http://[2002:808:808::1]/hook',
    'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook',
    'http://[2001::f7f7:f7f7]/hook',
  ],
  'cloud metadata and link-local': [
    'http://169.254.169.254/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[fe80::1]/hook',
  ],
  "the stack's private network": [
    'http://10.0.0.1/hook',
    'http://172.18.0.2:5432/',
    'http://192.168.1.1/hook',
    'http://[fc00::1]/hook',
  ],
  'other special-purpose blocks': [
    'http://0.0.0.0:PORT/hook',
    'http://255.255.255.255/hook',
    'http://224.0.0.1/hook',
    'http://240.0.0.1/hook',
    'http://192.0.0.9/hook',
    'http://192.88.99.1/hook',
    'http://192.31.196.1/hook',
    'http://198.18.0.1/hook',
    'http://[3fff::1]/hook',
    'http://[5f00::1]/hook',
    'http://[100:0:0:1::1]/hook',
    'http://[2001:db8::1]/hook',
    'http://[ff02::1]/hook',
  ],
  'DNS names resolving to loopback': ['http://localhost:PORT/hook', 'http://localhost./hook 400'],
};

type Tally = { tried: number; refused: number; rowsChanged: number };
const tallies = new Map<string, Tally>();

function count(kind: string, tried: number, refused: number, rowsChanged: number): void {
  const t = tallies.get(kind) ?? { tried: 0, refused: 0, rowsChanged: 0 };
  tallies.set(kind, { tried: t.tried + tried, refused: t.refused + refused, rowsChanged: t.rowsChanged + rowsChanged });
}

/** The endpoint rows, as text: any insert, update or delete changes it. */
async function endpointRows(t: TestApp): Promise<string[]> {
  const rows = await t.db.query<{ row: string }[]>(
    `SELECT concat_ws('|', id, owner, kind, url, status, updated_at) AS row FROM webhook_endpoints ORDER BY id`,
  );
  return rows.map((r) => r.row);
}

function changed(before: string[], after: string[]): number {
  const a = new Set(before);
  const b = new Set(after);
  return before.filter((r) => !b.has(r)).length + after.filter((r) => !a.has(r)).length;
}

describe('hostile outbound addresses: two allow-lists', () => {
  let t: TestApp;
  let secretSink: Awaited<ReturnType<typeof startSink>>;
  let port: string;

  beforeAll(async () => {
    t = await createTestApp(ENV);
    // What a merchant must never read back: an internal service on loopback.
    secretSink = await startSink(() => Promise.resolve({ status: 200, body: '{"internal":"db-password-here"}' }));
    port = new URL(secretSink.url).port;
  });
  afterAll(async () => {
    await t.close();
    await secretSink.close();
    const lines = [...tallies].map(
      ([kind, c]) => `${kind}: tried ${c.tried}, refused ${c.refused}, stored rows changed ${c.rowsChanged}`,
    );
    console.log(`hostile-addresses tally\n${lines.join('\n')}`);
  });

  it("completes a payment by webhook: the PSP mock's callback reaches the shop over loopback", async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    await waitFor(
      'order to be paid',
      async () => (await http(t.url, 'GET', `/orders/${order.id}`)).body.status === 'paid',
      { timeoutMs: 15_000 },
    );
    const p = (await http(t.url, 'GET', `/payments/${payment.id}`)).body;
    expect(p).toMatchObject({ status: 'succeeded', resolvedVia: 'webhook' });
    const callbacks = await t.db.query(
      `SELECT owner, kind, url FROM webhook_endpoints WHERE kind = 'callback' AND url LIKE $1 || '/%'`,
      [t.url],
    );
    expect(callbacks).toEqual([{ owner: 'psp', kind: 'callback', url: `${t.url}/webhooks/psp` }]);
  });

  it.each(Object.entries(HOSTILE))(
    'refuses merchant endpoints at %s with 422 WEBHOOK_ENDPOINT.URL_REFUSED, storing nothing',
    async (kind, urls) => {
      const before = await endpointRows(t);
      let refused = 0;
      for (const template of urls) {
        const [url, expected] = template.replace('PORT', port).split(' ');
        const res = await http(t.url, 'POST', '/webhook-endpoints', { url }, admin);
        // A URL the DTO already finds malformed is a 400; every other one reaches the address policy.
        expect({ url, status: res.status, code: res.body?.code }).toEqual(
          expected === '400'
            ? { url, status: 400, code: 'VALIDATION.FAILED' }
            : { url, status: 422, code: 'WEBHOOK_ENDPOINT.URL_REFUSED' },
        );
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        if (expected !== '400') expect(res.body.detail).toMatch(/\(not in WEBHOOK_ALLOWED_CIDRS\)\.$/);
        refused++;
      }
      const rowsChanged = changed(before, await endpointRows(t));
      count(`register: ${kind}`, urls.length, refused, rowsChanged);
      expect(rowsChanged).toBe(0);
      expect(secretSink.requests).toHaveLength(0);
    },
  );

  it("refuses the same addresses on the PSP mock's registered endpoints (WEBHOOK_ALLOWED_CIDRS, not the callbacks' list)", async () => {
    const urls = [
      `http://127.0.0.1:${port}/hook`,
      `http://[::1]:${port}/hook`,
      `http://localhost:${port}/hook`,
      `http://[::ffff:0:7f00:1]:${port}/hook`,
    ];
    const before = await endpointRows(t);
    let refused = 0;
    for (const url of urls) {
      const res = await http(t.url, 'POST', '/psp/v1/webhook-endpoints', { url }, psp);
      expect({ url, status: res.status, code: res.body?.code }).toEqual({
        url,
        status: 422,
        code: 'WEBHOOK_ENDPOINT.URL_REFUSED',
      });
      refused++;
    }
    const rowsChanged = changed(before, await endpointRows(t));
    count('register on the PSP API: loopback forms', urls.length, refused, rowsChanged);
    expect(rowsChanged).toBe(0);
  });

  it('refuses turning an existing endpoint towards loopback, or into a callback endpoint', async () => {
    const created = await http(t.url, 'POST', '/webhook-endpoints', { url: 'http://93.184.215.14/hook' }, admin);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    try {
      const before = await endpointRows(t);
      const attempts: [Record<string, unknown>, number, string][] = [
        [{ url: `http://127.0.0.1:${port}/hook` }, 422, 'WEBHOOK_ENDPOINT.URL_REFUSED'],
        [{ url: `http://[::ffff:127.0.0.1]:${port}/hook` }, 422, 'WEBHOOK_ENDPOINT.URL_REFUSED'],
        [{ url: `http://localhost:${port}/hook` }, 422, 'WEBHOOK_ENDPOINT.URL_REFUSED'],
        [{ kind: 'callback' }, 400, 'VALIDATION.FAILED'],
      ];
      for (const [body, status, code] of attempts) {
        const res = await http(t.url, 'PATCH', `/webhook-endpoints/${id}`, body, admin);
        expect({ body, status: res.status, code: res.body?.code }).toEqual({ body, status, code });
      }
      const made = await http(
        t.url,
        'POST',
        '/webhook-endpoints',
        { url: 'http://93.184.215.14/x', kind: 'callback' },
        admin,
      );
      expect(made).toMatchObject({ status: 400, body: { code: 'VALIDATION.FAILED' } });
      const rowsChanged = changed(before, await endpointRows(t));
      count('update, or create/turn into kind callback', attempts.length + 1, attempts.length + 1, rowsChanged);
      expect(rowsChanged).toBe(0);
      const [row] = await t.db.query(`SELECT kind, url FROM webhook_endpoints WHERE id = $1`, [id]);
      expect(row).toEqual({ kind: 'registered', url: 'http://93.184.215.14/hook' });
    } finally {
      await http(t.url, 'DELETE', `/webhook-endpoints/${id}`, undefined, admin);
    }
  });

  it('refuses at connect time an endpoint whose name later resolves to loopback, reading nothing back', async () => {
    // The app's resolver is Node's dns.lookup; this name answers as the test says.
    const dns = createRequire(__filename)('node:dns') as typeof import('node:dns');
    const original = dns.lookup;
    let answer = '93.184.215.14';
    const lookup = jest.spyOn(dns, 'lookup').mockImplementation(((
      hostname: string,
      options: unknown,
      callback: (err: Error | null, addresses: LookupAddress[]) => void,
    ) => {
      if (hostname !== 'rebind.hookline.test')
        return (original as (...a: unknown[]) => void)(hostname, options, callback);
      process.nextTick(() => callback(null, [{ address: answer, family: 4 }]));
    }) as unknown as typeof dns.lookup);
    let id: string | undefined;
    try {
      const created = await http(
        t.url,
        'POST',
        '/webhook-endpoints',
        { url: `http://rebind.hookline.test:${port}/hook` },
        admin,
      );
      expect(created.status).toBe(201);
      id = created.body.id as string;
      answer = '127.0.0.1';
      const before = await endpointRows(t);

      const sent = await http(t.url, 'POST', `/webhook-endpoints/${id}/test`, undefined, admin);
      expect(sent.status).toBe(202);
      const delivery = await waitFor(
        'the test delivery to be final',
        async () => {
          const d = (await http(t.url, 'GET', `/webhook-deliveries/${sent.body.deliveryId}`, undefined, admin)).body;
          return d.status !== 'pending' ? d : undefined;
        },
        { timeoutMs: 20_000 },
      );
      expect(delivery.status).toBe('failed');
      expect(delivery.attemptHistory.length).toBeGreaterThan(0);
      for (const attempt of delivery.attemptHistory) {
        expect(attempt).toMatchObject({ statusCode: null, responseExcerpt: null, succeeded: false });
        expect(attempt.error).toBe(
          'refused to connect to rebind.hookline.test (127.0.0.1): 127.0.0.1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)',
        );
      }
      expect(secretSink.requests).toHaveLength(0);
      expect(JSON.stringify(delivery)).not.toContain('db-password-here');
      expect(lookup).toHaveBeenCalledWith('rebind.hookline.test', expect.anything(), expect.any(Function));
      const after = await endpointRows(t);
      count('connect time: name rebound to loopback', 1, delivery.status === 'failed' ? 1 : 0, changed(before, after));
    } finally {
      lookup.mockRestore();
      if (id) await http(t.url, 'DELETE', `/webhook-endpoints/${id}`, undefined, admin);
    }
  });
});
