// CPU time of processes, read from /proc/<pid>/stat (utime + stime, in clock ticks):
// the server under test, the PostgreSQL processes serving the bench database (its
// backends plus the shared background writers: WAL writer, checkpointer…) and redis-server.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type pg from 'pg';

/** Clock ticks per second (USER_HZ); 100 on every Linux this runs on. */
const TICKS_PER_S = Number(safeExec('getconf', ['CLK_TCK'])) || 100;

function safeExec(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces), 1-based from field 3.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds a process has used so far at nanosecond resolution (its time on a CPU from
 * /proc/<pid>/schedstat), for costs too small for /proc/<pid>/stat's clock ticks; falls
 * back to cpuSeconds where the kernel has no schedstat.
 */
export function preciseCpuSeconds(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0]) / 1e9;
  } catch {
    return cpuSeconds(pid);
  }
}

/**
 * How many times a process's main thread (for Node, its event loop) has gone to sleep and
 * been woken again: voluntary_ctxt_switches in /proc/<pid>/status; 0 when it is gone.
 */
export function wakeups(pid: number): number {
  try {
    const m = /^voluntary_ctxt_switches:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function redisServerPids(): number[] {
  return safeExec('pgrep', ['-x', 'redis-server']).split('\n').filter(Boolean).map(Number);
}

/** Backends connected to `database` and PostgreSQL's background processes. */
export async function postgresPids(admin: pg.Client, database: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE (datname = $1 AND application_name NOT IN ('bench', 'bench-admin')) OR backend_type <> 'client backend'`,
    [database],
  );
  return rows.map((r) => r.pid);
}

export interface CpuGroups {
  server: number[];
  postgres: () => Promise<number[]>;
  redis: number[];
  client?: number[];
}

export type CpuSample = Record<'server' | 'postgres' | 'redis' | 'client', Map<number, number>>;

function sampleOf(pids: number[]): Map<number, number> {
  return new Map(pids.map((p) => [p, cpuSeconds(p)]));
}

export async function sampleCpu(groups: CpuGroups): Promise<CpuSample> {
  return {
    server: sampleOf(groups.server),
    postgres: sampleOf(await groups.postgres()),
    redis: sampleOf(groups.redis),
    client: sampleOf(groups.client ?? [process.pid]),
  };
}

/** CPU seconds each group used between two samples (a process new in `b` counts from 0). */
export function cpuDelta(a: CpuSample, b: CpuSample): Record<keyof CpuSample, number> {
  const out = {} as Record<keyof CpuSample, number>;
  for (const k of Object.keys(b) as (keyof CpuSample)[]) {
    let sum = 0;
    for (const [pid, after] of b[k]) sum += Math.max(0, after - (a[k].get(pid) ?? 0));
    out[k] = sum;
  }
  return out;
}
