import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where freePort looks: below Linux's default ephemeral range (32768–60999) and macOS's (49152–65535). */
const LOW = 20_000;
const HIGH = 32_767;

/**
 * The kernel's ephemeral range, from which it picks the local port of every outgoing
 * connection (and of listen(0)); null where it cannot be read.
 */
function ephemeralRange(): [number, number] | null {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(lo) && Number.isInteger(hi) ? [lo, hi] : null;
  } catch {
    return null;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A loopback port nothing listens on right now: the one freePort of the scripts and the
 * tests. Picked at random outside the kernel's ephemeral range: a port listen(0) hands out
 * comes from that range, so between picking it and listening on it any outgoing
 * connection (to PostgreSQL, Redis, a sink) could take it as its local port, and the
 * listen failed with EADDRINUSE. Outside the range only another explicit bind can.
 */
export async function freePort(): Promise<number> {
  const range = ephemeralRange();
  const high = range && range[0] - 1 >= LOW ? Math.min(HIGH, range[0] - 1) : HIGH;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW + 1));
    if (await bindable(port)) return port;
  }
  throw new Error(`freePort: no free loopback port in ${LOW}–${high} after 50 tries`);
}
