// The Hookline processes a comparison run owns, in one of two topologies, on its own
// database (dropped and created) and Redis prefix (deleted at the end):
//   separate — PSP, shop API and shop worker as three processes, as docker-compose runs them;
//   single   — one APP_ROLE=all process, as `npm start` runs it.
// Each is the built dist/src/main.js with production defaults (scripts/bench/lib/stack.ts).

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_SECRET } from '../bench/lib/events.js';
import { freePort } from '../lib/free-port.js';
import {
  adminClient,
  BENCH_KEYS,
  deleteRedisPrefix,
  dropDatabase,
  recreateDatabase,
  startHookline,
  type BenchConfig,
  type Proc,
} from '../bench/lib/stack.js';

export type Topology = 'separate' | 'single';

export const TOPOLOGY_LABEL: Record<Topology, string> = {
  separate: 'separate processes (PSP · shop API · shop worker), as docker-compose runs them',
  single: 'one process (`npm start`, APP_ROLE=all): PSP and shop share it',
};

/** The processes of one topology, by the role each plays in the comparison. */
export interface Stack {
  topology: Topology;
  shopUrl: string;
  pspUrl: string;
  apiKey: string;
  pspKey: string;
  metricsToken: string;
  databaseUrl: string;
  /** The PSP's processes and the shop's (the same one in `single`). */
  psp: Proc[];
  shop: Proc[];
  all: Proc[];
  pspClientConnections: number;
  stop(): Promise<void>;
}

export interface StackOptions {
  databaseUrl: string;
  redisUrl: string;
  logDir: string;
  /** The shop's PSP client pool (PSP_CLIENT_CONNECTIONS): sized so it is not what caps the peak. */
  pspClientConnections: number;
  /** Variables every process gets on top (e.g. SHORT_POLL_INTERVAL_MS for the sweep). */
  env?: Record<string, string>;
  /**
   * `stripe`: the shop pays through its Stripe adapter (PSP_PROVIDER=stripe, the official SDK)
   * against the PSP mock's Stripe dialect, and takes its webhooks at /webhooks/stripe.
   */
  psp?: 'mock' | 'stripe';
  /** Every process serves HTTPS only with this certificate, and each caller trusts `ca`. */
  tls?: { cert: string; key: string; ca: string };
}

export async function startStack(topology: Topology, opts: StackOptions): Promise<Stack> {
  const dbName = new URL(opts.databaseUrl).pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error(`database name ${dbName} is not a plain identifier`);
  const admin = await adminClient(opts.databaseUrl);
  await recreateDatabase(admin, dbName);
  const redisPrefix = `compare-${randomBytes(4).toString('hex')}`;
  mkdirSync(opts.logDir, { recursive: true });
  const cfg: BenchConfig = { databaseUrl: opts.databaseUrl, redisUrl: opts.redisUrl, redisPrefix, logDir: opts.logDir };
  const common = {
    // The PSP calls the shop back on loopback: allowed for its callbacks only (decision 0301).
    PSP_CALLBACK_ALLOWED_CIDRS: '127.0.0.0/8',
    PSP_CLIENT_CONNECTIONS: String(opts.pspClientConnections),
    LOG_LEVEL: 'warn',
    ...(opts.tls && {
      TLS_CERT_FILE: opts.tls.cert,
      TLS_KEY_FILE: opts.tls.key,
      PSP_CA_FILE: opts.tls.ca,
      PSP_MOCK_CA_FILE: opts.tls.ca,
    }),
    ...(opts.env ?? {}),
  };
  const scheme = opts.tls ? 'https' : 'http';
  // The shop's Stripe settings, pointed at the PSP process's dialect (docs/using-stripe.md).
  const stripeShop = (pspUrl: string): Record<string, string> =>
    opts.psp === 'stripe'
      ? {
          // Production refuses STRIPE_API_BASE (it takes no real money) and the mock's key as
          // Stripe's (decision 1005): the shop runs as in development against the dialect.
          NODE_ENV: 'development',
          PSP_PROVIDER: 'stripe',
          STRIPE_API_BASE: pspUrl,
          STRIPE_SECRET_KEY: BENCH_KEYS.PSP_API_KEY,
          STRIPE_WEBHOOK_SECRET: BENCH_SECRET,
        }
      : {};
  const procs: Proc[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await deleteRedisPrefix(opts.redisUrl, redisPrefix).catch(() => 0);
    await dropDatabase(admin, dbName).catch(() => undefined);
    await admin.end();
  };
  try {
    if (topology === 'single') {
      const port = await freePort();
      const url = `${scheme}://127.0.0.1:${port}`;
      const all = await startHookline(
        cfg,
        'all',
        'all',
        { ...common, PSP_BASE_URL: url, PUBLIC_BASE_URL: url, ...stripeShop(url) },
        [],
        port,
      );
      procs.push(all);
      return stack(topology, url, url, [all], [all], procs, opts, stop);
    }
    // The PSP first: it migrates the database; the shop's two roles then boot on it.
    const pspPort = await freePort();
    const pspUrl = `${scheme}://127.0.0.1:${pspPort}`;
    const apiPort = await freePort();
    const apiUrl = `${scheme}://127.0.0.1:${apiPort}`;
    const shopEnv = { ...common, PSP_BASE_URL: pspUrl, PUBLIC_BASE_URL: apiUrl, ...stripeShop(pspUrl) };
    const pspEnv = { ...common, PUBLIC_BASE_URL: pspUrl, PSP_STRIPE_WEBHOOK_URL: `${apiUrl}/webhooks/stripe` };
    const psp = await startHookline(cfg, 'psp', 'psp', pspEnv, [], pspPort);
    procs.push(psp);
    const [api, worker] = await Promise.all([
      startHookline(cfg, 'api', 'api', shopEnv, [], apiPort),
      startHookline(cfg, 'worker', 'worker', shopEnv),
    ]);
    procs.push(api, worker);
    return stack(topology, apiUrl, pspUrl, [psp], [api, worker], procs, opts, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

function stack(
  topology: Topology,
  shopUrl: string,
  pspUrl: string,
  psp: Proc[],
  shop: Proc[],
  all: Proc[],
  opts: StackOptions,
  stop: () => Promise<void>,
): Stack {
  return {
    topology,
    shopUrl,
    pspUrl,
    apiKey: BENCH_KEYS.API_KEYS,
    pspKey: BENCH_KEYS.PSP_API_KEY,
    metricsToken: BENCH_KEYS.METRICS_TOKEN,
    databaseUrl: opts.databaseUrl,
    psp,
    shop,
    all,
    pspClientConnections: opts.pspClientConnections,
    stop,
  };
}

export const logDirFor = (root: string, topology: Topology) => join(root, topology);
