import { randomBytes } from 'node:crypto';
// The processes and storage a bench run owns: its own database (dropped and created),
// its own Redis prefix (deleted at the end), Hookline from the built dist/ and the
// baseline servers, each a child process on a free loopback port with its output in a
// log file (not piped through this process, whose CPU is the load generator's).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { freePort } from '../../lib/free-port.js';
import { sleep } from '../../lib/sleep.js';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { NODE_FLAGS } from '../../../src/node-flags.js';
import { BENCH_SECRET } from './events.js';

// dist/scripts/bench/lib → dist/src/main.js and dist/scripts/bench/baseline-server.js (same build).
const MAIN = resolve(__dirname, '../../../src/main.js');
const BASELINE = resolve(__dirname, '../baseline-server.js');
const NEST_BASELINE = resolve(__dirname, '../baseline-nest/main.js');

export interface BenchConfig {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  logDir: string;
}

export interface Proc {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

const live = new Set<Proc>();

/** Stops every child still running (on the way out, errors and Ctrl-C included). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

function startChild(name: string, args: string[], env: Record<string, string>, logDir: string, port: number): Proc {
  const fd = openSync(join(logDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const proc: Proc = {
    name,
    // TLS_CERT_FILE: the process serves HTTPS only (the caller trusts its CA: setGlobalDispatcher).
    url: `${env.TLS_CERT_FILE ? 'https' : 'http'}://127.0.0.1:${port}`,
    pid: child.pid!,
    child,
    async stop() {
      live.delete(proc);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(proc);
  return proc;
}

async function waitReady(proc: Proc, path: string, logDir: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited early; see ${logDir}/${proc.name}.log`);
    try {
      const res = await fetch(proc.url + path, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline)
      throw new Error(`${proc.name} not ready in ${timeoutMs} ms; see ${logDir}/${proc.name}.log`);
    await sleep(100);
  }
}

const freshKey = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/** The run's own secrets: production refuses published ones (docs/security/production-secrets.md). */
export const BENCH_KEYS = {
  API_KEYS: freshKey('sk_shop_'),
  ADMIN_API_KEYS: freshKey('sk_admin_'),
  PSP_API_KEY: freshKey('sk_psp_'),
  SEALING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  METRICS_TOKEN: freshKey(''),
};

/** Hookline from dist/ in `role`, with production defaults except what the bench needs to set. */
export async function startHookline(
  cfg: BenchConfig,
  name: string,
  role: 'all' | 'api' | 'worker' | 'psp',
  extraEnv: Record<string, string> = {},
  nodeArgs: string[] = [],
  /** A port chosen beforehand (a process whose own URL goes into another's environment, or its own). */
  port?: number,
): Promise<Proc> {
  port ??= await freePort();
  const proc = startChild(
    name,
    // Run as npm start and the image run it (NODE_FLAGS), with the bench's own flags (--cpu-prof) after.
    [...NODE_FLAGS, ...nodeArgs, MAIN],
    {
      NODE_ENV: 'production',
      APP_ROLE: role,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: cfg.databaseUrl,
      REDIS_URL: cfg.redisUrl,
      REDIS_PREFIX: cfg.redisPrefix,
      ...BENCH_KEYS,
      PSP_WEBHOOK_SECRET: BENCH_SECRET,
      LOG_FORMAT: 'json',
      ...extraEnv,
    },
    cfg.logDir,
    port,
  );
  await waitReady(proc, '/health/ready', cfg.logDir);
  return proc;
}

export async function startBaseline(cfg: BenchConfig, mode: 'hmac' | 'naive', naiveTable: string): Promise<Proc> {
  const port = await freePort();
  const proc = startChild(
    `baseline-${mode}`,
    // The same Node flags as Hookline: the ratios compare designs, not runtime tuning.
    [...NODE_FLAGS, BASELINE, mode],
    {
      PORT: String(port),
      BENCH_SECRET,
      DATABASE_URL: cfg.databaseUrl,
      REDIS_URL: cfg.redisUrl,
      REDIS_PREFIX: `${cfg.redisPrefix}-naive`,
      NAIVE_TABLE: naiveTable,
    },
    cfg.logDir,
    port,
  );
  await waitReady(proc, '/', cfg.logDir, 15_000);
  return proc;
}

/** The Nest baseline (scripts/bench/baseline-nest/): Express, standardwebhooks, TypeORM save, @nestjs/bull add. */
export async function startNestBaseline(cfg: BenchConfig): Promise<Proc> {
  const port = await freePort();
  const proc = startChild(
    'baseline-nest',
    [...NODE_FLAGS, NEST_BASELINE],
    {
      NODE_ENV: 'production',
      PORT: String(port),
      BENCH_SECRET,
      DATABASE_URL: cfg.databaseUrl,
      REDIS_URL: cfg.redisUrl,
      REDIS_PREFIX: `${cfg.redisPrefix}-nest`,
    },
    cfg.logDir,
    port,
  );
  await waitReady(proc, '/', cfg.logDir, 30_000);
  return proc;
}

/** A client of the maintenance database, for CREATE/DROP DATABASE and pg_stat_activity. */
export async function adminClient(databaseUrl: string): Promise<pg.Client> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), application_name: 'bench-admin' });
  await client.connect();
  return client;
}

export async function recreateDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
}

export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Deletes every key under the bench's Redis prefixes (its queues and the naive baseline's). */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export async function databaseClient(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench' });
  await client.connect();
  return client;
}
