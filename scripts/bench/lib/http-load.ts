// A loopback HTTP/1.1 load generator on raw sockets: every request is a pre-built
// buffer (headers, body and signature made before the clock starts), so the client
// spends its CPU on writing bytes and finding the end of each answer, nothing else.
// Closed loop (N connections, each sends its next request when the answer is in) or
// open loop (a fixed arrival rate; latency counted from the scheduled send time).

import { connect, type Socket } from 'node:net';
import { sleep } from '../../lib/sleep.js';

export interface LoadResult {
  /** Requests answered inside the measured window. */
  count: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Answers by status class inside the window. */
  statuses: Record<string, number>;
  non2xx: number;
  /** Socket errors and closed connections (reconnected). */
  errors: number;
  /** Every answer of the run by status code, warm-up and stragglers included. */
  total: Record<string, number>;
  /** Requests taken from the list (all of them answered unless `errors`). */
  sent: number;
}

export interface ClosedLoopOptions {
  url: string;
  connections: number;
  /** The requests to send, in order; `cycle` wraps around, otherwise the run ends when they are used up. */
  requests: Buffer[];
  cycle?: boolean;
  warmupMs: number;
  durationMs: number;
  /** Called once the warm-up is over, right before the measured window opens. */
  onWindowStart?: () => unknown;
  /** Called when the measured window closes, before waiting for answers in flight. */
  onWindowEnd?: () => unknown;
}

/** Builds the bytes of one keep-alive POST. */
export function buildRequest(url: string, path: string, headers: Record<string, string>, body: Buffer): Buffer {
  const { host } = new URL(url);
  let head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\ncontent-length: ${body.length}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]);
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Incremental parser of HTTP/1.1 answers on one connection (content-length or chunked bodies). */
class AnswerReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Feeds bytes; returns the status codes of the answers completed by them. */
  feed(chunk: Buffer): number[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const done: number[] = [];
    for (;;) {
      const headEnd = this.buf.indexOf(CRLFCRLF);
      if (headEnd < 0) return done;
      const head = this.buf.subarray(0, headEnd).toString('latin1');
      const status = Number(head.slice(9, 12));
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let total: number;
      if (cl) total = headEnd + 4 + Number(cl[1]);
      else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const end = this.buf.indexOf('\r\n0\r\n\r\n', headEnd);
        const first = this.buf.indexOf('0\r\n\r\n', headEnd + 4);
        if (first === headEnd + 4) total = headEnd + 4 + 5;
        else if (end >= 0) total = end + 7;
        else return done;
      } else total = headEnd + 4;
      if (this.buf.length < total) return done;
      done.push(status);
      this.buf = this.buf.subarray(total);
    }
  }
  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

class Recorder {
  latencies: number[] = [];
  statuses: Record<string, number> = {};
  total: Record<string, number> = {};
  sent = 0;
  errors = 0;
  answered(status: number): void {
    this.total[status] = (this.total[status] ?? 0) + 1;
  }
  record(status: number, ms: number): void {
    this.latencies.push(ms);
    const cls = `${Math.floor(status / 100)}xx`;
    this.statuses[cls] = (this.statuses[cls] ?? 0) + 1;
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }
  result(seconds: number): LoadResult {
    const sorted = Float64Array.from(this.latencies).sort();
    const count = sorted.length;
    return {
      count,
      seconds,
      rps: count / seconds,
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      p99Ms: percentile(sorted, 99),
      maxMs: count ? sorted[count - 1] : NaN,
      statuses: this.statuses,
      non2xx: count - (this.statuses['2xx'] ?? 0),
      errors: this.errors,
      total: this.total,
      sent: this.sent,
    };
  }
}

const nowMs = () => performance.now();

/** N connections, each sending its next request as soon as the previous answer is complete. */
export async function closedLoop(opts: ClosedLoopOptions): Promise<LoadResult> {
  const { hostname, port } = new URL(opts.url);
  const rec = new Recorder();
  let next = 0;
  let measuring = false;
  let stopped = false;
  let windowEnd = 0;
  let inFlight = 0;
  let settle: () => void = () => undefined;
  const allIdle = new Promise<void>((r) => (settle = r));

  const take = (): Buffer | undefined => {
    if (stopped) return undefined;
    if (next >= opts.requests.length) {
      if (!opts.cycle) return undefined;
      next = 0;
    }
    return opts.requests[next++];
  };

  const open = (): void => {
    const reader = new AnswerReader();
    let sentAt = 0;
    let countThis = false;
    let busy = false;
    const socket: Socket = connect({ host: hostname, port: Number(port), noDelay: true });
    const send = (): void => {
      const req = take();
      if (!req) {
        busy = false;
        socket.end();
        return;
      }
      busy = true;
      inFlight++;
      rec.sent++;
      countThis = measuring;
      sentAt = nowMs();
      socket.write(req);
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      for (const status of reader.feed(chunk)) {
        const at = nowMs();
        inFlight--;
        rec.answered(status);
        if (countThis && at <= windowEnd) rec.record(status, at - sentAt);
        if (stopped && inFlight === 0) settle();
        send();
      }
    });
    socket.on('error', () => {
      if (measuring) rec.errors++;
    });
    socket.on('close', () => {
      if (busy) {
        inFlight--;
        busy = false;
        reader.reset();
        if (!stopped) setImmediate(open);
      }
      if (stopped && inFlight === 0) settle();
    });
  };
  for (let i = 0; i < opts.connections; i++) open();

  await sleep(opts.warmupMs);
  await opts.onWindowStart?.();
  const windowStart = nowMs();
  windowEnd = windowStart + opts.durationMs;
  measuring = true;
  // Ends early when the (non-cycling) requests run out.
  while (nowMs() < windowEnd && (opts.cycle || next < opts.requests.length)) await sleep(20);
  const end = Math.min(nowMs(), windowEnd);
  windowEnd = end;
  await opts.onWindowEnd?.();
  stopped = true;
  measuring = false;
  if (inFlight > 0) await Promise.race([allIdle, sleep(10_000)]);
  return rec.result((end - windowStart) / 1000);
}

export interface OpenLoopOptions {
  url: string;
  requests: Buffer[];
  ratePerS: number;
  /** Connections kept open; more are opened (up to maxConnections) while all are busy. */
  connections: number;
  maxConnections: number;
  /** Called with the index of each request at its scheduled send time (epoch ms). */
  onSend?: (index: number, scheduledEpochMs: number) => void;
}

/**
 * Sends requests[i] at t0 + i / rate. Latency runs from the scheduled time, so a
 * server that falls behind is charged for the wait (no coordinated omission).
 */
export async function openLoop(opts: OpenLoopOptions): Promise<LoadResult> {
  const { hostname, port } = new URL(opts.url);
  const rec = new Recorder();
  const idle: { send: (i: number, at: number) => void }[] = [];
  let open = 0;
  let answered = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const backlog: { i: number; at: number }[] = [];
  const sockets: Socket[] = [];

  const openConn = (): void => {
    open++;
    const reader = new AnswerReader();
    let scheduled = 0;
    const socket = connect({ host: hostname, port: Number(port), noDelay: true });
    sockets.push(socket);
    const conn = {
      send: (i: number, at: number) => {
        scheduled = at;
        socket.write(opts.requests[i]);
      },
    };
    socket.on('connect', () => {
      const queued = backlog.shift();
      if (queued) conn.send(queued.i, queued.at);
      else idle.push(conn);
    });
    socket.on('data', (chunk: Buffer) => {
      for (const status of reader.feed(chunk)) {
        rec.record(status, nowMs() - scheduled);
        rec.answered(status);
        if (++answered === opts.requests.length) done();
        const queued = backlog.shift();
        if (queued) conn.send(queued.i, queued.at);
        else idle.push(conn);
      }
    });
    socket.on('error', () => rec.errors++);
  };
  for (let i = 0; i < opts.connections; i++) openConn();
  await sleep(50);

  const t0 = nowMs();
  const epoch0 = Date.now();
  let sent = 0;
  const interval = 1000 / opts.ratePerS;
  while (sent < opts.requests.length) {
    const due = Math.min(opts.requests.length, Math.floor((nowMs() - t0) / interval) + 1);
    for (; sent < due; sent++) {
      const at = t0 + sent * interval;
      rec.sent++;
      opts.onSend?.(sent, epoch0 + sent * interval);
      const conn = idle.pop();
      if (conn) conn.send(sent, at);
      else {
        backlog.push({ i: sent, at });
        if (open < opts.maxConnections) openConn();
      }
    }
    await sleep(1);
  }
  await Promise.race([finished, sleep(30_000)]);
  const seconds = (nowMs() - t0) / 1000;
  for (const s of sockets) s.destroy();
  return rec.result(seconds);
}
