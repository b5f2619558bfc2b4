// The ingest baselines `npm run bench` runs next to Hookline, each as its own process
// so its CPU can be read from /proc:
//   hmac   a bare node:http server that verifies the Standard Webhooks HMAC (the same
//          verify() Hookline uses) and answers 202: the ceiling of any receiver;
//   naive  node:http + HMAC + JSON.parse + one INSERT … ON CONFLICT DO NOTHING per
//          request into a copy of webhook_inbox + one Bull add per request: the
//          obvious durable receiver, which Hookline must beat.
// Usage: node baseline-server.js <hmac|naive>  (PORT, BENCH_SECRET, and for naive
// DATABASE_URL, REDIS_URL, REDIS_PREFIX, NAIVE_TABLE from the environment).
// Prints "ready" on stdout once listening.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Bull from 'bull';
import pg from 'pg';
import { secretKey, verify } from '../../src/common/crypto/standard-webhooks.js';
import { JobName, defaultJobOptions } from '../../src/queue/queues.js';

const mode = process.argv[2];
if (mode !== 'hmac' && mode !== 'naive') throw new Error('usage: baseline-server <hmac|naive>');
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const keys = [secretKey(env('BENCH_SECRET'))];
const TOLERANCE_S = 300;

const pool =
  mode === 'naive'
    ? new pg.Pool({ connectionString: env('DATABASE_URL'), max: 20, application_name: 'naive-baseline' })
    : undefined;
const queue =
  mode === 'naive' ? new Bull('webhook-inbox', env('REDIS_URL'), { prefix: env('REDIS_PREFIX') }) : undefined;
const table = mode === 'naive' ? env('NAIVE_TABLE') : '';
if (!/^[a-z_]*$/.test(table)) throw new Error('NAIVE_TABLE must be a plain identifier');
const insertSql = `INSERT INTO ${table} (source, event_id, event_type, payload, received_at, verified_at)
  VALUES ('psp', $1, $2, $3, $4, $5) ON CONFLICT (source, event_id) DO NOTHING RETURNING id`;

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
  const receivedAt = new Date();
  const result = verify(req.headers, raw, keys, TOLERANCE_S, receivedAt.getTime());
  if (!result.ok) return answer(res, 401, `{"code":"WEBHOOK.${result.reason}"}`);
  if (mode === 'hmac') return answer(res, 202, '{"status":"accepted"}');
  const event = JSON.parse(raw.toString('utf8')) as { event_id: string; type: string };
  const { rows } = await pool!.query<{ id: string }>(insertSql, [
    event.event_id,
    event.type,
    raw.toString('utf8'),
    receivedAt,
    new Date(),
  ]);
  if (rows.length === 0) return answer(res, 200, `{"status":"duplicate","eventId":${JSON.stringify(event.event_id)}}`);
  await queue!.add(JobName.ApplyInboxEvent, { inboxId: rows[0].id }, { ...defaultJobOptions, jobId: rows[0].id });
  answer(res, 202, `{"status":"accepted","eventId":${JSON.stringify(event.event_id)}}`);
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    handle(req, Buffer.concat(chunks), res).catch((err: Error) => answer(res, 503, JSON.stringify(err.message)));
  });
});
server.listen(Number(env('PORT')), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void Promise.all([pool?.end(), queue?.close()]).finally(() => process.exit(0));
});
