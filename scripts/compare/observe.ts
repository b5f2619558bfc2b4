// What the harness reads from the processes it measures, once before and once after a
// scenario (never in a loop while it runs): each process's CPU time from /proc and its
// HTTP traffic counters from /metrics (src/metrics/http-traffic.ts).

import { cpuSeconds } from '../bench/lib/proc-cpu.js';
import type { Proc } from '../bench/lib/stack.js';
import type { Stack } from './stack.js';

/** `<side>:<api>` → requests; `<side>:<api>:<direction>` → bytes. */
export interface ProcSnapshot {
  cpuS: number;
  requests: Record<string, number>;
  bytes: Record<string, number>;
}
export type Snapshot = Map<Proc, ProcSnapshot>;

const LINE = /^hookline_http_(requests|bytes)_total\{([^}]*)\} (\S+)$/;

export function parseTraffic(text: string): Pick<ProcSnapshot, 'requests' | 'bytes'> {
  const requests: Record<string, number> = {};
  const bytes: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (m[1] === 'requests') requests[`${labels.side}:${labels.api}`] = Number(m[3]);
    else bytes[`${labels.side}:${labels.api}:${labels.direction}`] = Number(m[3]);
  }
  return { requests, bytes };
}

export async function snapshot(stack: Stack): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const proc of stack.all) {
    const res = await fetch(`${proc.url}/metrics`, {
      headers: { authorization: `Bearer ${stack.metricsToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${proc.name} /metrics answered ${res.status}`);
    out.set(proc, { cpuS: cpuSeconds(proc.pid), ...parseTraffic(text) });
  }
  return out;
}

/** What a group of processes did between two snapshots. */
export interface Usage {
  cpuMs: number;
  requests: (key: string) => number;
  bytes: (key: string) => number;
}

export function usage(before: Snapshot, after: Snapshot, procs: Proc[]): Usage {
  const sum = (pick: (s: ProcSnapshot) => number) =>
    procs.reduce((acc, p) => acc + pick(after.get(p)!) - pick(before.get(p)!), 0);
  return {
    cpuMs: sum((s) => s.cpuS) * 1000,
    requests: (key) => sum((s) => s.requests[key] ?? 0),
    bytes: (key) => sum((s) => s.bytes[key] ?? 0),
  };
}
