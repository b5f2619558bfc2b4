// What a request costs a process that is woken for it, by rate: a bare node:http server
// (no framework, no storage: it answers 204) driven at fixed rates over one keep-alive
// connection by the bench's open loop (lib/http-load.ts), its CPU read from
// /proc/<pid>/schedstat. On a busy process requests share the event loop's wake-ups and
// warm caches; at tens of requests a second each one is a wake-up of its own, and on these
// VMs that wake-up, not the request's code, is most of what a request costs
// (docs/performance.md, "What a wake-up costs"). The checkout scenario reports it beside a
// payment's CPU, so a reader can tell the host's floor from Hookline's code.

import { spawn } from 'node:child_process';
import { buildRequest, closedLoop, openLoop } from './http-load.js';
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
    const url = `http://127.0.0.1:${port}`;
    const request = buildRequest(url, '/', { 'content-type': 'application/json' }, Buffer.from('{}'));
    // Warm-up, not counted: the first requests run in V8's cold tiers.
    await closedLoop({ url, connections: 1, requests: [request], cycle: true, warmupMs: 0, durationMs: 1000 });
    const out: number[] = [];
    for (const rate of rates) {
      const n = Math.max(20, Math.round(rate * secondsEach));
      const before = preciseCpuSeconds(child.pid!);
      const r = await openLoop({
        url,
        requests: new Array<Buffer>(n).fill(request),
        ratePerS: rate,
        connections: 1,
        maxConnections: 1,
      });
      if (r.non2xx + r.errors > 0) throw new Error(`wake cost: the bare server answered ${r.non2xx} non-2xx`);
      out.push(((preciseCpuSeconds(child.pid!) - before) * 1e6) / n);
    }
    return out;
  } finally {
    child.kill();
  }
}
