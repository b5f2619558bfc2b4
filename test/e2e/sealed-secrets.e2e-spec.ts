import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { SealEndpointSecrets1796510000000 } from '../../migrations/1796510000000-SealEndpointSecrets.js';
import { SecretSealer } from '../../src/common/crypto/secret-sealer.js';
import { callerIdOf } from '../../src/http/auth/caller-identity.js';
import { runMigrations } from '../../src/database/migrate.js';
import { ensureDatabase } from '../../src/database/ensure-database.js';
import { typeormOptions } from '../../src/database/typeorm-options.js';
import { EndpointsRepository } from '../../src/webhooks/outbound/endpoints.repository.js';
import { resealEndpointSecrets } from '../../src/webhooks/outbound/secret-reseal.js';
import { admin, register } from '../factories/endpoints.factory.js';
import { http } from '../factories/orders.factory.js';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { startSink, verifies } from '../utils/http-sink.js';
import { ADMIN_KEY, dropDatabase, PSP_KEY, SHOP_KEY, TEST_DATABASE_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

jest.setTimeout(60_000);

const keyEntry = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const K1 = keyEntry('k1');
const K2 = keyEntry('k2');
/** The base64 key bytes of SEALING_KEYS entries, which no error message or log may carry. */
const keyBytes = (...entries: string[]) => entries.map((e) => e.split(':')[1]);

/** The secret and its base64 part: neither may appear anywhere but in the secret routes' answers. */
const forms = (secret: string) => [secret, secret.slice('whsec_'.length)];

/** Every row of every table of the test database, as text (each row's every column). */
async function everyRow(): Promise<string> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'`,
    );
    const parts: string[] = [];
    for (const { name } of tables) {
      const { rows } = await client.query<{ r: string }>(`SELECT t::text AS r FROM ${name} t`);
      parts.push(...rows.map((r) => r.r));
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}

async function endpointRows(t: TestApp): Promise<Record<string, unknown>[]> {
  return t.db.query(`SELECT * FROM webhook_endpoints WHERE kind = 'registered' ORDER BY created_at`);
}

async function reveal(t: TestApp, id: string, headers: Record<string, string> = admin) {
  return http(t.url, 'POST', `/webhook-endpoints/${id}/reveal-secret`, undefined, headers);
}

/** Sends webhook.test to the endpoint and waits for its first attempt; answers the delivery. */
async function testDelivery(t: TestApp, endpointId: string) {
  const sent = await http(t.url, 'POST', `/webhook-endpoints/${endpointId}/test`, undefined, admin);
  expect(sent.status).toBe(202);
  const deliveryId = sent.body.deliveryId as string;
  return waitFor(`the first attempt of ${deliveryId}`, async () => {
    const d = await http(t.url, 'GET', `/webhook-deliveries/${deliveryId}`, undefined, admin);
    return d.body.attemptHistory?.length > 0 ? d.body : undefined;
  });
}

describe('Endpoint signing secrets sealed at rest', () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  let t: TestApp | undefined;
  const boot = async (keys: string, over: Record<string, string> = {}) => {
    t = await createTestApp({ SEALING_KEYS: keys, WEBHOOK_ROTATION_GRACE: '1h', ...over });
    return t;
  };
  const stop = async () => {
    await t?.close();
    t = undefined;
  };
  /** What the first tests made: one endpoint created then rotated, its two secrets. */
  const made: { id: string; first: string; second: string; other: { id: string; secret: string } } = {} as never;

  beforeAll(async () => {
    sink = await startSink(() => Promise.resolve({ status: 200 }));
  });
  afterEach(stop);
  afterAll(() => sink.close());

  it('after creation and rotation, no row of any table holds the secret or its base64 part; deliveries verify with the revealed secrets', async () => {
    const app = await boot(K1, { LOG_LEVEL: 'log', LOG_FORMAT: 'json' });
    let answers = '';
    const logs = await captureOutput(async () => {
      const created = await register(app, `${sink.url}/hook`);
      made.other = await register(app, `${sink.url}/other`);
      made.id = created.id;
      made.first = created.secret;
      expect(made.first).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      const rotated = await http(app.url, 'POST', `/webhook-endpoints/${made.id}/rotate-secret`, undefined, admin);
      expect(rotated.status).toBe(200);
      expect(rotated.headers.get('cache-control')).toBe('no-store');
      made.second = rotated.body.secret as string;
      expect(made.second).not.toBe(made.first);

      const revealed = await reveal(app, made.id);
      expect(revealed.status).toBe(200);
      expect(revealed.headers.get('cache-control')).toBe('no-store');
      expect(revealed.body).toEqual({
        secret: made.second,
        previousSecret: made.first,
        previousSecretExpiresAt: expect.any(String),
      });

      const d = await testDelivery(app, made.id);
      expect(d.attemptHistory[0].succeeded).toBe(true);
      const req = sink.requests.find((r) => r.headers['webhook-id'] === d.eventId)!;
      expect(verifies(revealed.body.secret, req)).toBe(true);
      expect(verifies(revealed.body.previousSecret, req)).toBe(true);

      // Every read route of the endpoint, the UI page and the metrics.
      for (const path of [
        `/webhook-endpoints/${made.id}`,
        '/webhook-endpoints',
        `/webhook-endpoints/${made.id}/deliveries`,
        `/webhook-deliveries/${d.id}`,
        `/ui/webhook-endpoints/${made.id}`,
        '/metrics',
      ]) {
        const res = await http(app.url, 'GET', path, undefined, admin);
        expect(res.status).toBe(200);
        answers += typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
      }
      const got = await http(app.url, 'GET', `/webhook-endpoints/${made.id}`, undefined, admin);
      expect(got.body).not.toHaveProperty('secret');
      expect(got.body).not.toHaveProperty('previousSecret');
      // A PATCH answers the endpoint too.
      const patched = await http(app.url, 'PATCH', `/webhook-endpoints/${made.id}`, { description: 'x' }, admin);
      answers += JSON.stringify(patched.body);
    });

    const rows = await everyRow();
    for (const secret of [made.first, made.second, made.other.secret]) {
      for (const form of forms(secret)) {
        expect(rows).not.toContain(form);
        expect(answers).not.toContain(form);
        expect(logs).not.toContain(form);
      }
    }
    const [row] = (await endpointRows(app)).filter((r) => r.id === made.id);
    expect(Object.keys(row)).not.toEqual(expect.arrayContaining(['secret']));
    expect(Object.keys(row)).not.toContain('previous_secret');
    expect(row).toMatchObject({
      secret_sealed: expect.stringMatching(/^v1\.[A-Za-z0-9_-]+$/),
      previous_secret_sealed: expect.stringMatching(/^v1\./),
      sealing_key_id: 'k1',
    });
    // The audit line of the reveal: the endpoint and the caller, not the secret.
    const audit = jsonLines(logs).filter((l) => l.audit === 'secret.revealed');
    // The caller as the access log names it, so the two lines of the request can be matched.
    const caller = `admin:${callerIdOf(ADMIN_KEY)}`;
    expect(audit).toEqual([expect.objectContaining({ endpointId: made.id, caller })]);
    const access = jsonLines(logs).find((l) => l.reqId === audit[0].reqId && l.msg === 'request completed');
    expect(access).toMatchObject({ caller });
    expect(logs).not.toContain(ADMIN_KEY);
  });

  it('reveals only to the admin key: 401 with the shop or PSP key or none, 404 for an unknown endpoint; nothing changes', async () => {
    const app = await boot(K1);
    const before = JSON.stringify(await endpointRows(app));
    const cases: [Record<string, string>, number, string, string?][] = [
      [{ authorization: `Bearer ${SHOP_KEY}` }, 401, 'AUTH.INVALID_KEY'],
      [{ authorization: `Bearer ${PSP_KEY}` }, 401, 'AUTH.INVALID_KEY'],
      [{}, 401, 'AUTH.MISSING_KEY'],
      [{ authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` }, 401, 'AUTH.MISSING_KEY'],
      [admin, 404, 'WEBHOOK_ENDPOINT.NOT_FOUND', '00000000-0000-4000-8000-000000000000'],
      [admin, 404, 'WEBHOOK_ENDPOINT.NOT_FOUND', 'not-a-uuid'],
    ];
    for (const [headers, status, code, id] of cases) {
      const res = await reveal(app, id ?? made.id, headers);
      expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(JSON.stringify(res.body)).not.toContain(made.second.slice(6));
    }
    // The PSP mock's own route does not open the shop's endpoints.
    const psp = await http(app.url, 'POST', `/psp/v1/webhook-endpoints/${made.id}/reveal-secret`, undefined, {
      authorization: `Bearer ${PSP_KEY}`,
    });
    expect(psp.status).toBe(404);
    expect(JSON.stringify(await endpointRows(app))).toBe(before);
    // Documented: admin key, the answer's shape, the 401.
    const doc = (await http(app.url, 'GET', '/docs-json')).body;
    const op = doc.paths['/webhook-endpoints/{id}/reveal-secret'].post;
    expect(op.security).toEqual([{ admin: [] }]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '404']));
    expect(Object.keys(doc.components.schemas.RevealedSecretDto.properties).sort()).toEqual([
      'previousSecret',
      'previousSecretExpiresAt',
      'secret',
    ]);
  });

  it('with the new key first and the old one kept, existing endpoints still sign; new ones are sealed with the new key', async () => {
    const app = await boot(`${K2},${K1}`);
    const d = await testDelivery(app, made.id);
    expect(d.attemptHistory[0].succeeded).toBe(true);
    const req = sink.requests.find((r) => r.headers['webhook-id'] === d.eventId)!;
    expect(verifies(made.second, req)).toBe(true);
    const fresh = await register(app, `${sink.url}/fresh`);
    const keys = Object.fromEntries((await endpointRows(app)).map((r) => [r.id, r.sealing_key_id]));
    expect(keys).toEqual({ [made.id]: 'k1', [made.other.id]: 'k1', [fresh.id]: 'k2' });
  });

  it('the reseal command moves every row to the first key (idempotent); then the old key can be removed', async () => {
    const app = await boot(`${K2},${K1}`);
    const ring = SecretSealer.fromEnv(`${K2},${K1}`);
    const first = await resealEndpointSecrets(app.app.get(EndpointsRepository), ring, { batchSize: 1 });
    expect(first).toEqual({ keyId: 'k2', resealed: 2, current: 3, failed: [], left: 0 });
    const again = await resealEndpointSecrets(app.app.get(EndpointsRepository), ring);
    expect(again).toMatchObject({ resealed: 0, current: 3, left: 0 });
    expect(new Set((await endpointRows(app)).map((r) => r.sealing_key_id))).toEqual(new Set(['k2']));
    await stop();

    const only = await boot(K2);
    const d = await testDelivery(only, made.id);
    expect(d.attemptHistory[0].succeeded).toBe(true);
    const req = sink.requests.find((r) => r.headers['webhook-id'] === d.eventId)!;
    expect(verifies(made.second, req)).toBe(true);
    expect((await reveal(only, made.id)).body.secret).toBe(made.second);
  });

  it.each([
    [
      'a key id the rows are not sealed under',
      () => keyEntry('k3'),
      /key id "k2" seals 3 endpoint secret\(s\) but is not in SEALING_KEYS/,
    ],
    [
      "another key under the rows' key id",
      () => keyEntry('k2'),
      /the SEALING_KEYS key "k2" does not open endpoint .* \(3 endpoint\(s\) sealed under that id\)/,
    ],
  ])('refuses to boot with %s, naming the key id, never a key', async (_what, keys, message) => {
    const wrong = keys();
    let error: Error | undefined;
    await createTestApp({ SEALING_KEYS: wrong }).then(
      (app) => app.close(),
      (err: Error) => (error = err),
    );
    expect(error?.message).toMatch(message);
    for (const bytes of keyBytes(wrong, K1, K2)) expect(error?.message).not.toContain(bytes);
  });

  it('fails the deliveries of a row changed in the database with SEALED_SECRET.UNREADABLE and sends nothing; reveal answers 500; rotation recovers', async () => {
    const app = await boot(K2);
    // The other endpoint's sealed secret copied onto this row: a valid value, for another endpoint (AAD).
    await app.db.query(
      `UPDATE webhook_endpoints SET secret_sealed = (SELECT secret_sealed FROM webhook_endpoints WHERE id = $2) WHERE id = $1`,
      [made.id, made.other.id],
    );
    const before = sink.requests.length;
    const d = await testDelivery(app, made.id);
    expect(d.attemptHistory[0]).toMatchObject({ succeeded: false, statusCode: null });
    expect(d.attemptHistory[0].error).toMatch(/^SEALED_SECRET\.UNREADABLE: key id "k2" does not open it/);
    expect(sink.requests.slice(before).some((r) => r.headers['webhook-id'] === d.eventId)).toBe(false);
    const revealed = await reveal(app, made.id);
    expect(revealed).toMatchObject({ status: 500, body: { code: 'WEBHOOK_ENDPOINT.SECRET_UNREADABLE' } });
    expect(JSON.stringify(revealed.body)).not.toContain(made.other.secret.slice(6));

    const rotated = await http(app.url, 'POST', `/webhook-endpoints/${made.id}/rotate-secret`, undefined, admin);
    expect(rotated.status).toBe(200);
    expect(await reveal(app, made.id)).toMatchObject({ status: 200, body: { secret: rotated.body.secret } });
    const after = await testDelivery(app, made.id);
    expect(after.attemptHistory[0].succeeded).toBe(true);
    const req = sink.requests.find((r) => r.headers['webhook-id'] === after.eventId)!;
    expect(verifies(rotated.body.secret, req)).toBe(true);
  });
});

describe('Migration SealEndpointSecrets', () => {
  const url = TEST_DATABASE_URL.replace(/\/([^/]+)$/, '/$1_migration');
  const saved = process.env.SEALING_KEYS;
  afterAll(async () => {
    process.env.SEALING_KEYS = saved;
    if (saved === undefined) delete process.env.SEALING_KEYS;
    await dropDatabase(url);
  });

  it('seals the plaintext rows of a database at the previous migration, drops the plaintext, and goes back down', async () => {
    await dropDatabase(url);
    await ensureDatabase(url, { log: () => undefined });
    const sealAt = MIGRATIONS.indexOf(SealEndpointSecrets1796510000000);
    const before = MIGRATIONS.slice(0, sealAt);
    const old = await new DataSource({ ...typeormOptions(url), migrations: before }).initialize();
    const current = `whsec_${randomBytes(24).toString('base64')}`;
    const previous = `whsec_${randomBytes(24).toString('base64')}`;
    let id: string;
    try {
      await old.runMigrations();
      [{ id }] = await old.query(
        `INSERT INTO webhook_endpoints (owner, url, secret, previous_secret, previous_secret_expires_at)
         VALUES ('shop', 'https://merchant.example/hook', $1, $2, now() + interval '1 hour') RETURNING id`,
        [current, previous],
      );
      await old.query(
        `INSERT INTO webhook_endpoints (owner, kind, url) VALUES ('psp', 'callback', 'http://127.0.0.1:9/cb')`,
      );
    } finally {
      await old.destroy();
    }

    process.env.SEALING_KEYS = `${K2},${K1}`;
    // The seal first, then whatever migrations came after it.
    expect(await runMigrations(url, { log: () => undefined })).toEqual(MIGRATIONS.slice(sealAt).map((m) => m.name));
    const db = await new DataSource(typeormOptions(url)).initialize();
    try {
      const rows: Record<string, unknown>[] = await db.query(`SELECT * FROM webhook_endpoints ORDER BY kind DESC`);
      const text: { r: string }[] = await db.query(`SELECT t::text AS r FROM webhook_endpoints t`);
      for (const form of [...forms(current), ...forms(previous)]) {
        expect(text.map((x) => x.r).join('\n')).not.toContain(form);
      }
      expect(Object.keys(rows[0])).not.toContain('secret');
      expect(Object.keys(rows[0])).not.toContain('previous_secret');
      const [registered, callback] = rows as { [k: string]: string | null }[];
      expect(registered).toMatchObject({ id, sealing_key_id: 'k2' });
      const ring = SecretSealer.fromEnv(K2);
      expect(ring.open(registered.secret_sealed!, 'k2', `${id}/secret`)).toBe(current);
      expect(ring.open(registered.previous_secret_sealed!, 'k2', `${id}/previous_secret`)).toBe(previous);
      expect(callback).toMatchObject({ kind: 'callback', secret_sealed: null, sealing_key_id: null });

      for (let i = sealAt; i < MIGRATIONS.length; i++) await db.undoLastMigration({ transaction: 'each' });
      const [down] = await db.query(`SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1`, [id]);
      expect(down).toEqual({ secret: current, previous_secret: previous });
    } finally {
      await db.destroy();
    }
  });
});
