import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { assertTestDatabase, TEST_DATABASE_URL, TEST_REDIS_PREFIX_ROOT, testAppEnv } from './test-env.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { sleep } from '../../scripts/lib/sleep.js';
import { NODE_FLAGS } from '../../src/node-flags.js';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface SpawnedApp {
  role: string;
  port: number;
  url: string;
  child: ChildProcess;
  /** Everything the process wrote (JSON log lines), for assertions and failure messages. */
  output: () => string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and awaits the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the built application as spawnApp does and waits for it to exit on its own
 * (a process that refuses to boot); resolves with its exit code and output. Fails if it
 * is still running after `timeoutMs`.
 */
export async function bootUntilExit(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number | null; output: string }> {
  const port = await freePort();
  const vars = { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...testAppEnv(port), LOG_FORMAT: 'json', ...env };
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN], { env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (c, sig) => resolve([c, sig])),
  );
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`still running after ${timeoutMs} ms:\n${output.slice(-4000)}`);
  return { code, output };
}

/** A Redis prefix shared by the processes of one test, and by no other test. */
export const testRedisPrefix = () =>
  `${TEST_REDIS_PREFIX_ROOT}-fault-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Starts the BUILT application (`node dist/src/main.js`, as production runs it) as a
 * child process on a loopback port, against the test database, and waits until
 * /health/ready answers 200 (at most `readyTimeoutMs`). `dist/` is rebuilt by the
 * fault project's globalSetup.
 */
export async function spawnApp(
  role: 'all' | 'api' | 'worker' | 'psp',
  /** A variable given as undefined is left out of the process's environment. */
  env: Record<string, string | undefined> & { REDIS_PREFIX: string },
  { port, readyTimeoutMs = 30_000 }: { port?: number; readyTimeoutMs?: number } = {},
): Promise<SpawnedApp> {
  assertTestDatabase(TEST_DATABASE_URL);
  const p = port ?? (await freePort());
  const url = `http://127.0.0.1:${p}`;
  const given: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    ...testAppEnv(p),
    APP_ROLE: role,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...env,
  };
  const vars = Object.fromEntries(
    Object.entries(given).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN], { env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const app: SpawnedApp = {
    role,
    port: p,
    url,
    child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (!gone) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (gone) throw new Error(`${role} process exited before it was ready:\n${out.slice(-4000)}`);
    try {
      const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return app;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await app.stop('SIGKILL');
      throw new Error(`${role} process not ready within ${readyTimeoutMs} ms:\n${out.slice(-4000)}`);
    }
    await sleep(100);
  }
}
