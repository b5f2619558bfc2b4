// Host speed, measured at the start of each run: the bare HMAC server (the ingest
// scenario's baseline (a)) under a short closed loop. These machines ran the same code
// up to 3× apart from one run to the next (7,233 and 20,631 req/s), so the issue's
// absolute rates and CPU budgets are for a host whose bare server does 20,000 req/s
// (HOST_REFERENCE_RPS), and a run scales them by its own factor (BenchContext.hostFactor).

import { closedLoop } from './http-load.js';
import { signedRequests, uniqueEvents } from './events.js';
import { HOST_REFERENCE_RPS } from './report.js';
import { startBaseline, type BenchConfig } from './stack.js';

export interface HostSpeed {
  rps: number;
  factor: number;
}

export async function measureHost(
  cfg: BenchConfig,
  naiveTable: string,
  opts: { connections: number; warmupMs: number; durationMs: number },
): Promise<HostSpeed> {
  const hmac = await startBaseline(cfg, 'hmac', naiveTable);
  try {
    const requests = signedRequests(hmac.url, uniqueEvents(10_000, 'host'), 'host');
    const r = await closedLoop({ url: hmac.url, requests, cycle: true, ...opts });
    if (r.non2xx + r.errors > 0) throw new Error(`host speed: the bare HMAC server answered ${r.non2xx} non-2xx`);
    return { rps: r.rps, factor: r.rps / HOST_REFERENCE_RPS };
  } finally {
    await hmac.stop();
  }
}
