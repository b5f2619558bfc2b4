// The child processes of the deliveries scenario (scripts/bench/scenarios/deliveries.ts),
// each on its own so that its CPU stays out of the measured processes and can be read
// from /proc:
//   sink      a bare node:http server answering 200 to every POST (the endpoint);
//   baseline  a Bull worker (same concurrency as Hookline's delivery queue) that signs
//             each job's body (Standard Webhooks) and POSTs it with an undici Agent
//             pool (keep-alive) to the sink, recording nothing.
// Usage: node delivery-children.js <sink|baseline>, forked with an IPC channel; talks
// with the bench by messages (see ChildMessage).

import { createServer } from 'node:http';
import Bull from 'bull';
import { Agent, request } from 'undici';
import { signHeader } from '../../../src/common/crypto/standard-webhooks.js';

export type ParentMessage = { cmd: 'run'; n: number; tag: string; body: string } | { cmd: 'count' } | { cmd: 'stop' };

export type ChildMessage =
  | { kind: 'ready'; port?: number }
  | { kind: 'count'; count: number }
  | { kind: 'done'; n: number; elapsedMs: number; failed: number };

const send = (m: ChildMessage) => process.send?.(m);
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

function sink(): void {
  let count = 0;
  const ok = Buffer.from('{"ok":true}');
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': ok.length });
      res.end(ok);
    });
  });
  server.listen(0, '127.0.0.1', () => send({ kind: 'ready', port: (server.address() as { port: number }).port }));
  process.on('message', (m: ParentMessage) => {
    if (m.cmd === 'count') send({ kind: 'count', count });
    if (m.cmd === 'stop') {
      server.close();
      server.closeAllConnections();
      process.exit(0);
    }
  });
}

interface Job {
  id: string;
  body: string;
}

function baseline(): void {
  const url = env('SINK_URL');
  const secret = env('BENCH_SECRET');
  const concurrency = Number(env('CONCURRENCY'));
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const queue = new Bull<Job>('bench-delivery', env('REDIS_URL'), { prefix: env('REDIS_PREFIX') });
  let run: { n: number; done: number; failed: number; first: number; last: number } | null = null;

  const finish = () => {
    if (!run || run.done + run.failed < run.n) return;
    send({ kind: 'done', n: run.done, elapsedMs: run.last - run.first, failed: run.failed });
    run = null;
  };
  void queue.process('deliver', concurrency, async (job) => {
    const r = run;
    if (r && r.first === 0) r.first = performance.now();
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'bench-baseline/1.0',
          'webhook-id': job.data.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signHeader([secret], job.data.id, timestamp, job.data.body),
        },
        body: job.data.body,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
      if (r) r.done++;
    } catch (err) {
      if (r) r.failed++;
      throw err;
    } finally {
      if (r) {
        r.last = performance.now();
        finish();
      }
    }
  });

  process.on('message', (m: ParentMessage) => {
    if (m.cmd === 'run') {
      run = { n: m.n, done: 0, failed: 0, first: 0, last: 0 };
      void (async () => {
        for (let i = 0; i < m.n; i += 1000) {
          const k = Math.min(1000, m.n - i);
          await queue.addBulk(
            Array.from({ length: k }, (_, j) => ({
              name: 'deliver',
              data: { id: `msg_${m.tag}_${i + j}`, body: m.body },
              opts: { jobId: `${m.tag}_${i + j}`, removeOnComplete: true, removeOnFail: true },
            })),
          );
        }
      })();
    }
    if (m.cmd === 'stop') void Promise.all([queue.close(), agent.close()]).finally(() => process.exit(0));
  });
  void queue.isReady().then(() => send({ kind: 'ready' }));
}

if (require.main === module) {
  const mode = process.argv[2];
  if (mode === 'sink') sink();
  else if (mode === 'baseline') baseline();
  else throw new Error('usage: delivery-children <sink|baseline>');
}
