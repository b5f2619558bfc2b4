import { createHash, randomBytes } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PAYMENTS_STAY_PROCESSING } from '../factories/payments.factory.js';
import { postPspEvent } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { MetricsRegistry } from '../../src/metrics/metrics-registry.js';
import * as jsonbText from '../../src/common/validation/jsonb-text.js';

/**
 * Validly signed events that JSON.parse (Fastify's parser) accepts but PostgreSQL
 * cannot store as jsonb: each must answer 422 WEBHOOK.UNSTORABLE_EVENT
 * (problem+json), be counted, and store nothing; the events around it in the same
 * group commit are stored as usual. The numbers' limits were measured against
 * PostgreSQL 15 (docs/decisions/0501-unstorable-inbound-events.md). Nothing is applied
 * here: the PSP mock settles nothing and the events name no payment.
 */

interface Case {
  name: string;
  /** The signed body, sent byte for byte. */
  body: string;
}

const id = () => `evt_hostile_${randomBytes(8).toString('hex')}`;
/** An event whose `data` (or top-level `extra`) carries `raw` JSON text verbatim. */
const withData = (raw: string) =>
  `{"event_id":"${id()}","type":"payment.completed","data":{"payment_id":"pay_x","amount":${raw},"currency":"USD"}}`;
const withExtra = (raw: string) => `{"event_id":"${id()}","type":"payment.completed","data":{},"extra":${raw}}`;

const REFUSED: Case[] = [
  { name: 'exponent far beyond numeric (1e1000000)', body: withData('1e1000000') },
  { name: 'exponent beyond an int (1e99999999999)', body: withData('1e99999999999') },
  { name: '131,073 integer digits', body: withData('1'.repeat(131_073)) },
  { name: '1e131072 (131,073 digits before the point)', body: withData('1e131072') },
  { name: '16,384 digits after the point', body: withData(`0.${'5'.repeat(16_384)}`) },
  { name: '16,384 zeros after the point', body: withData(`0.${'0'.repeat(16_384)}`) },
  { name: '1e-16384', body: withData('1e-16384') },
  { name: '1.0e-16383 (scale 16,384)', body: withData('1.0e-16383') },
  { name: 'zero with a huge negative exponent (0e-99999999)', body: withData('0e-99999999') },
  { name: 'zero with an exponent of INT_MAX/2 (0e1073741823)', body: withData('0e1073741823') },
  { name: 'negative huge number in an unknown top-level field', body: withExtra('-1e1000000') },
  { name: 'huge number deep in an array', body: withExtra('[[[{"a":[1,2,1e200000]}]]]') },
  {
    name: 'huge number as an object key’s value after a string with an escaped quote',
    body: withExtra('{"k\\"":9E+131072}'),
  },
  { name: 'a byte order mark before the body', body: `\ufeff${withData('1')}` },
];

/** Within the limits: stored, byte-for-byte different text perhaps, but the same value. */
const STORED: Case[] = [
  { name: '1e131071 (131,072 digits before the point)', body: withData('1e131071') },
  { name: '1e-16383', body: withData('1e-16383') },
  { name: '-0', body: withData('-0') },
  { name: '0e99999999 (zero, any exponent)', body: withData('0e99999999') },
  { name: 'a number-like string', body: withExtra('"1e1000000"') },
  { name: 'duplicate keys (the last one wins, in JSON.parse and jsonb alike)', body: withExtra('{"a":1,"a":2}') },
];

jest.setTimeout(60_000);

describe('hostile inbound events (storable JSON)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(PAYMENTS_STAY_PROCESSING);
  });
  afterAll(async () => {
    await t.close();
  });

  const inboxCount = async () =>
    (await t.db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM webhook_inbox`))[0].n;
  const eventIdOf = (body: string) => /"event_id":"([^"]+)"/.exec(body)![1];

  async function send(body: string) {
    const res = await postPspEvent(t.url, signWebhook(undefined, { body }));
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, contentType: res.headers.get('content-type'), body: parsed };
  }

  async function unstorableCount(): Promise<number> {
    const metric = t.app.get(MetricsRegistry).getSingleMetric('hookline_webhooks_received_total')!;
    const { values } = await metric.get();
    return values
      .filter((v) => v.labels.outcome === 'rejected' && v.labels.reason === 'unstorable')
      .reduce((sum, v) => sum + v.value, 0);
  }

  it.each(REFUSED)('refuses $name with 422 WEBHOOK.UNSTORABLE_EVENT and stores nothing', async (c) => {
    const [rowsBefore, countedBefore] = [await inboxCount(), await unstorableCount()];
    const res = await send(c.body);
    expect({ status: res.status, contentType: res.contentType, code: res.body?.code }).toEqual({
      status: 422,
      contentType: expect.stringMatching(/^application\/problem\+json\b/),
      code: 'WEBHOOK.UNSTORABLE_EVENT',
    });
    // The offending value is never echoed back (it may be 131 KB).
    expect(JSON.stringify(res.body).length).toBeLessThan(600);
    expect(await inboxCount()).toBe(rowsBefore);
    expect(await unstorableCount()).toBe(countedBefore + 1);
  });

  it.each(STORED)('stores $name (202)', async (c) => {
    const res = await send(c.body);
    expect(res.status).toBe(202);
    const rows = await t.db.query(`SELECT 1 FROM webhook_inbox WHERE event_id = $1`, [eventIdOf(c.body)]);
    expect(rows).toHaveLength(1);
  });

  it('answers 422, not 500, for an event PostgreSQL refuses that the checks let through, and stores the rest of its group commit', async () => {
    // The receiver's own check is switched off: PostgreSQL's refusal is what decides.
    const check = jest.spyOn(jsonbText, 'jsonbTextProblem').mockReturnValue(null);
    try {
      const good = Array.from({ length: 12 }, () => withData('100'));
      const poison = [`\ufeff${withData('1')}`, withData('1e1000000')];
      const bodies = [...good.slice(0, 6), poison[0], ...good.slice(6), poison[1]];
      const answers = await Promise.all(bodies.map((b) => send(b)));
      expect(answers.map((a) => a.status)).toEqual(bodies.map((b) => (poison.includes(b) ? 422 : 202)));
      for (const [i, b] of bodies.entries()) {
        if (!poison.includes(b)) continue;
        expect(answers[i].body).toMatchObject({ code: 'WEBHOOK.UNSTORABLE_EVENT', status: 422 });
        expect(answers[i].body.detail).toMatch(/SQLSTATE 22/);
      }
      const stored = await t.db.query<{ event_id: string }[]>(
        `SELECT event_id FROM webhook_inbox WHERE event_id = ANY($1::text[])`,
        [bodies.map(eventIdOf)],
      );
      expect(stored.map((r) => r.event_id).sort()).toEqual(good.map(eventIdOf).sort());
      expect(check).toHaveBeenCalled();
    } finally {
      check.mockRestore();
    }
  });
});

describe('hostile inbound events (a redelivered event_id with another body)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(PAYMENTS_STAY_PROCESSING);
  });
  afterAll(async () => {
    await t.close();
  });

  const send = async (body: string) => {
    const res = await postPspEvent(t.url, signWebhook(undefined, { body }));
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
  async function mismatches(): Promise<number> {
    const metric = t.app.get(MetricsRegistry).getSingleMetric('hookline_webhook_duplicate_body_mismatch_total')!;
    return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
  }
  /** The app's output while `run` goes on, with info lines on (the test app logs errors only). */
  async function atInfo(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
    const level = PinoLogger.root.level;
    PinoLogger.root.level = 'info';
    try {
      return jsonLines(await captureOutput(run));
    } finally {
      PinoLogger.root.level = level;
    }
  }

  it('answers 200 duplicate, keeps the stored body, logs both body hashes and counts it', async () => {
    const eventId = id();
    const first = `{"event_id":"${eventId}","type":"payment.completed","data":{"payment_id":"pay_x","amount":100}}`;
    const other = `{"event_id":"${eventId}","type":"payment.completed","data":{"payment_id":"pay_x","amount":1}}`;
    expect((await send(first)).status).toBe(202);
    const [stored] = await t.db.query<{ sha: string; payload: { data: { amount: number } } }[]>(
      `SELECT encode(body_sha256, 'hex') AS sha, payload FROM webhook_inbox WHERE event_id = $1`,
      [eventId],
    );
    expect(stored.sha).toBe(sha256(first));

    const before = await mismatches();
    // The same body again is a plain duplicate: not counted.
    expect((await send(first)).status).toBe(200);
    expect(await mismatches()).toBe(before);

    let answer: Awaited<ReturnType<typeof send>> | undefined;
    const lines = await atInfo(async () => {
      answer = await send(other);
    });
    expect(answer).toEqual({ status: 200, body: { status: 'duplicate', eventId } });
    expect(await mismatches()).toBe(before + 1);
    const told = lines.filter((l) => l.eventId === eventId && /another body/.test(String(l.msg)));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ storedBodySha256: sha256(first), receivedBodySha256: sha256(other) });
    const after = await t.db.query<{ payload: { data: { amount: number } } }[]>(
      `SELECT payload FROM webhook_inbox WHERE event_id = $1`,
      [eventId],
    );
    expect(after.map((r) => r.payload.data.amount)).toEqual([100]);
  });
});
