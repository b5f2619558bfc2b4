// What a request costs a process that is woken for it, by rate: a bare node:http server
// (no framework, no storage: it answers 204) driven at fixed rates over one keep-alive
// connection, its CPU read from /proc/<pid>/schedstat. On a busy process requests share the event loop's
// wake-ups and warm caches; at tens of requests a second each one is a wake-up of its own,
// and on these VMs that wake-up, not the request's code, is most of what a request costs
// (docs/performance.md, "What a wake-up costs"). The checkout scenario reports it beside a
// payment's CPU, so a reader can tell the host's floor from Hookline's code.

import http from 'node:http';
import { spawn } from 'node:child_process';
import { sleep } from '../../lib/sleep.js';
import { preciseCpuSeconds } from './proc-cpu.js';

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.statusCode = 204; res.end(); }); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

/** CPU µs the bare server spent per request at each rate (same order as `rates`). */
export async function wakeCost(rates: number[], secondsEach: number): Promise<number[]> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end('{}');
      });
    const out: number[] = [];
    // Warm-up, not counted: the first requests run in V8's cold tiers.
    for (let i = 0; i < 2000; i++) await get();
    for (const rate of rates) {
      const n = Math.max(20, Math.round(rate * secondsEach));
      const before = preciseCpuSeconds(child.pid!);
      const started = performance.now();
      const pending: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const wait = started + (i * 1000) / rate - performance.now();
        if (wait > 1) await sleep(wait);
        pending.push(get());
      }
      await Promise.all(pending);
      out.push(((preciseCpuSeconds(child.pid!) - before) * 1e6) / n);
    }
    agent.destroy();
    return out;
  } finally {
    child.kill();
  }
}
