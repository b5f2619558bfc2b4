import type { Client } from 'pg';
import { SHUTDOWN_TIMEOUT_MS } from '../../src/bootstrap.js';
import { sleep } from '../../scripts/lib/sleep.js';
import { backendPid, blockedBy, createPayments, testDb } from '../utils/fault-kit.js';
import { rawRequest } from '../utils/raw-http.js';
import { pspEvent } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { waitFor } from '../utils/wait-for.js';
import { spawnApp, testRedisPrefix, type SpawnedApp } from '../utils/spawn-app.js';
import { PSP_KEY } from '../utils/test-env.js';

const pspHeaders = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };

describe('graceful shutdown (SIGTERM)', () => {
  let psp: SpawnedApp | undefined;
  const others: SpawnedApp[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all([psp, ...others].flatMap((p) => (p ? [p.stop('SIGKILL')] : [])));
    psp = undefined;
    others.length = 0;
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    clients.length = 0;
  });

  it('answers the in-flight long poll at once, refuses new connections, and exits 0 within the timeout', async () => {
    psp = await spawnApp('psp', {
      REDIS_PREFIX: testRedisPrefix(),
      PSP_SETTLE_DELAY_MIN_MS: '3600000',
      PSP_SETTLE_DELAY_MAX_MS: '3600000',
      LOG_LEVEL: 'log', // for the drain's line
    });
    const pspUrl = psp.url;
    const created = await rawRequest(`${psp.url}/psp/v1/payments`, {
      method: 'POST',
      headers: pspHeaders,
      body: JSON.stringify({ amount: 1000, currency: 'USD' }),
    });
    expect(created).toMatchObject({ ok: true, status: 201 });
    const { id } = JSON.parse((created as { body: string }).body) as { id: string };

    // Held by the PSP for up to 20 s: the payment does not settle.
    const longPoll = rawRequest(`${psp.url}/psp/v1/payments/${id}?wait=20`, { headers: pspHeaders });
    await waitFor('the long poll held by the PSP', async () => {
      const metrics = await rawRequest(`${pspUrl}/metrics`);
      return metrics.ok && /^hookline_psp_long_polls_open 1$/m.test(metrics.body);
    });
    const signalledAt = Date.now();
    psp.child.kill('SIGTERM');

    // The listener closes at once, in the turn that logs the drain: once the line is out, a
    // new connection is refused while the process still drains.
    await waitFor('the PSP draining', () => Promise.resolve(psp!.output().includes('SIGTERM: draining')));
    const late = await rawRequest(`${psp.url}/health/live`);
    expect(late).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
    expect(psp.child.exitCode).toBeNull();

    const answer = await longPoll;
    expect(answer).toMatchObject({ ok: true, status: 200, connection: 'close' });
    expect(JSON.parse((answer as { body: string }).body)).toMatchObject({ id, status: 'processing' });
    // Answered by the drain with the state as it is, not cut and not held for its 20 s.
    expect(answer.endedAt).toBeGreaterThan(signalledAt);
    expect(answer.endedAt - signalledAt).toBeLessThan(5000);

    const exit = await psp.exited;
    expect({ ...exit, output: exit.code === 0 ? '' : psp.output().slice(-3000) }).toEqual({
      code: 0,
      signal: null,
      output: '',
    });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  }, 60_000);

  it('lets a worker finish its active job before it exits', async () => {
    const quiet = {
      REDIS_PREFIX: testRedisPrefix(),
      PSP_SETTLE_DELAY_MIN_MS: '3600000',
      PSP_SETTLE_DELAY_MAX_MS: '3600000',
      WEBHOOK_DEADLINE_MS: '3600000',
    };
    psp = await spawnApp('psp', quiet);
    const db = await testDb();
    clients.push(db);
    const api = await spawnApp('api', { ...quiet, PSP_BASE_URL: psp.url });
    others.push(api);
    const worker = await spawnApp('worker', { ...quiet, PSP_BASE_URL: psp.url, PUBLIC_BASE_URL: api.url });
    others.push(worker);
    const [p] = await createPayments(api.url, 1);

    // The test holds the payment's row lock: the worker's job blocks mid-transaction.
    const locker = await testDb();
    clients.push(locker);
    const lockerPid = await backendPid(locker);
    await locker.query('BEGIN');
    await locker.query(`SELECT id FROM payments WHERE id = $1 FOR UPDATE`, [p.paymentId]);
    const signed = signWebhook(
      pspEvent({ pspPaymentId: p.pspPaymentId, paymentId: p.paymentId, orderId: p.orderId, amount: p.amount }),
    );
    const posted = await rawRequest(`${api.url}/webhooks/psp`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    expect(posted).toMatchObject({ ok: true, status: 202 });
    await waitFor('the job blocked on the lock', async () => (await blockedBy(db, lockerPid)) === 1, {
      timeoutMs: 15_000,
    });

    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    await sleep(1500);
    expect(worker.child.exitCode).toBeNull(); // still draining: its job is active
    await locker.query('ROLLBACK');

    const exit = await worker.exited;
    expect({ ...exit, output: exit.code === 0 ? '' : worker.output().slice(-3000) }).toEqual({
      code: 0,
      signal: null,
      output: '',
    });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    // Applied by the worker before it exited, in its one and only attempt.
    const { rows } = await db.query(
      `SELECT i.status, i.attempts, p.status AS payment FROM webhook_inbox i JOIN payments p ON p.id::text = i.payload->'data'->'metadata'->>'paymentId' WHERE p.id = $1`,
      [p.paymentId],
    );
    expect(rows).toEqual([{ status: 'processed', attempts: 1, payment: 'succeeded' }]);
  }, 60_000);
});
