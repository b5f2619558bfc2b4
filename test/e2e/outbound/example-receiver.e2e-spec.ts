import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { admin, register } from '../../factories/endpoints.factory.js';
import { createOrder, http, payOrder } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { signWebhook } from '../../utils/sign-webhook.js';
import { startSink } from '../../utils/http-sink.js';
import { DELIVERY_ENV, useOutboundApp } from '../../utils/outbound.js';
import { SHOP_KEY } from '../../utils/test-env.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(40_000);

const RECEIVER = resolve(__dirname, '../../../examples/receiver-node/receiver.mjs');
const VERIFY_PY = resolve(__dirname, '../../../examples/verify-python/verify.py');

/** examples/receiver-node started as a merchant would run it; its stdout lines parsed. */
function startReceiver(env: Record<string, string>) {
  const lines: Record<string, unknown>[] = [];
  const child: ChildProcess = spawn(process.execPath, [RECEIVER], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const line of parts) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return {
    lines,
    applied: () => lines.filter((l) => l.applied),
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

describe('examples/receiver-node: the receiver of the receiving kit', () => {
  let t: TestApp;
  useOutboundApp(DELIVERY_ENV, (app) => (t = app));
  const dir = mkdtempSync(join(tmpdir(), 'hookline-receiver-'));
  let receiver: ReturnType<typeof startReceiver> | undefined;
  afterAll(async () => {
    await receiver?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies every order event once: missed ones from GET /events, live ones by webhook, a forged one refused', async () => {
    // Paid before the endpoint exists: only GET /events can tell the receiver.
    const before = [await createOrder(t.url), await createOrder(t.url)];
    for (const o of before) await payOrder(t.url, o.id, { paymentMethod: 'pm_card_ok' });
    await waitFor('orders paid', async () => {
      const statuses = await Promise.all(
        before.map(async (o) => (await http(t.url, 'GET', `/orders/${o.id}`)).body.status),
      );
      return statuses.every((s) => s === 'paid');
    });

    // The endpoint first (its secret), then the receiver on a port it picks: the URL is set after.
    const ep = await register(t, 'http://127.0.0.1:9/placeholder', { eventTypes: ['order.*'] });
    receiver = startReceiver({
      HOOKLINE_WEBHOOK_SECRET: ep.secret,
      HOOKLINE_URL: t.url,
      HOOKLINE_API_KEY: SHOP_KEY,
      STATE_FILE: join(dir, 'state.json'),
      CATCH_UP_INTERVAL_MS: '300',
    });
    const listening = await waitFor('the receiver listening', () =>
      Promise.resolve(receiver!.lines.find((l) => l.listening)),
    );
    await http(t.url, 'PATCH', `/webhook-endpoints/${ep.id}`, { url: listening.listening }, admin);
    await waitFor('the two missed events caught up', () => Promise.resolve(receiver!.applied().length >= 2));

    // Live: by webhook (or by the next catch-up, whichever comes first: once either way).
    const live = [await createOrder(t.url), await createOrder(t.url)];
    await payOrder(t.url, live[0].id, { paymentMethod: 'pm_card_ok' });
    await payOrder(t.url, live[1].id, { paymentMethod: 'pm_card_declined' });
    await waitFor('four events applied', () => Promise.resolve(receiver!.applied().length >= 4));
    expect(receiver.applied().some((l) => l.via === 'webhook')).toBe(true);

    // A redelivery (same webhook-id) is acknowledged and not applied again.
    const deliveries = await http(
      t.url,
      'GET',
      `/webhook-endpoints/${ep.id}/deliveries?status=succeeded`,
      undefined,
      admin,
    );
    const retried = await http(
      t.url,
      'POST',
      `/webhook-deliveries/${deliveries.body.data[0].id}/retry`,
      undefined,
      admin,
    );
    expect(retried.status).toBe(202);
    // A forged one (signed with another secret: the PSP's) is refused with 401 and not applied.
    const forged = signWebhook({
      event_id: 'evt_000000000000000000000000',
      type: 'order.paid',
      created_at: new Date().toISOString(),
      data: {},
    });
    const refused = await fetch(listening.listening as string, {
      method: 'POST',
      headers: forged.headers,
      body: forged.body,
    });
    expect(refused.status).toBe(401);
    await waitFor('the retried delivery succeeded again', async () => {
      const d = await http(t.url, 'GET', `/webhook-deliveries/${deliveries.body.data[0].id}`, undefined, admin);
      return d.body.attempts >= 1 && d.body.status === 'succeeded' && d.body.attemptHistory.length >= 2;
    });

    const published = (
      await t.db.query<{ event_id: string }[]>(
        `SELECT event_id FROM webhook_messages WHERE owner = 'shop' AND event_type LIKE 'order.%'`,
      )
    ).map((r) => r.event_id);
    const applied = receiver.applied().map((l) => l.applied as string);
    expect([...applied].sort()).toEqual([...published].sort());
    expect(new Set(applied).size).toBe(applied.length);
    expect(receiver.lines.filter((l) => l.refused)).toHaveLength(1);
  });

  // The kit's other language: Python's standard library alone, run on a delivery Hookline sent.
  it('examples/verify-python verifies a real delivery and refuses it tampered or with another secret', async () => {
    const sink = await startSink(() => Promise.resolve({ status: 200 }));
    try {
      const ep = await register(t, `${sink.url}/hook`, { eventTypes: ['order.*'] });
      const order = await createOrder(t.url);
      await payOrder(t.url, order.id, { paymentMethod: 'pm_card_ok' });
      const delivered = await waitFor('the order.paid delivery', () => Promise.resolve(sink.requests[0]));
      const python = (body: string, secret = ep.secret) =>
        spawnSync('python3', [VERIFY_PY], {
          input: body,
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH ?? '',
            HOOKLINE_WEBHOOK_SECRET: secret,
            WEBHOOK_ID: String(delivered.headers['webhook-id']),
            WEBHOOK_TIMESTAMP: String(delivered.headers['webhook-timestamp']),
            WEBHOOK_SIGNATURE: String(delivered.headers['webhook-signature']),
          },
        });
      const ok = python(delivered.body);
      expect(ok.status).toBe(0);
      expect(ok.stdout.trim()).toBe(`verified order.paid ${String(delivered.headers['webhook-id'])}`);
      const tampered = python(delivered.body.replace('"paid"', '"pending_payment"'));
      expect(tampered.status).toBe(1);
      expect(tampered.stdout).toContain('refused: no signature matches');
      const other = python(delivered.body, `whsec_${Buffer.from('another-endpoint-secret!!').toString('base64')}`);
      expect(other.status).toBe(1);
    } finally {
      await sink.close();
    }
  });
});
