import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { EntityManager } from 'typeorm';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxApplier } from './inbox-applier.js';
import type { InboxQueue } from './inbox-queue.js';
import type { DeadOrRetry, InboxMark, InboxRepository, LockedInboxRow, RetryPolicy } from './inbox.repository.js';
import { WebhookHandlerRegistry, type InboundEvent } from './webhook-handler.js';

const config = {
  get: (name: string) =>
    ({ INBOX_MAX_ATTEMPTS: 3, INBOX_RETRY_BACKOFF_MS: 1000, INBOX_RETRY_BACKOFF_MAX_MS: 60_000 })[name],
};
const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** The inbox table as the applier sees it: rows to lock, marks, failed attempts. */
class FakeInbox {
  rows = new Map<string, LockedInboxRow & { attempts: number }>();
  transactions = 0;
  marks: InboxMark[][] = [];
  failures: { id: string; message: string; policy: RetryPolicy }[] = [];
  failWith: Error | null = null;

  add(i: number, payload: Record<string, unknown> = {}): string {
    const id = uuid(i);
    this.rows.set(id, {
      id,
      source: 'test',
      event_id: `evt_${i}`,
      event_type: 'test.event',
      payload: { event_id: `evt_${i}`, ...payload },
      received_at: new Date(1_000_000 + i),
      verified_at: new Date(1_000_000 + i),
      queued_at: null,
      received_via: 'webhook',
      processed_at: null,
      attempts: 0,
    });
    return id;
  }

  readonly repository: Pick<InboxRepository, 'transaction' | 'lockRows' | 'markApplied' | 'markFailed'> = {
    transaction: <T>(work: (manager: EntityManager) => Promise<T>): Promise<T> => {
      if (this.failWith) return Promise.reject(this.failWith);
      this.transactions++;
      return work({} as EntityManager);
    },
    lockRows: (_manager, ids) =>
      Promise.resolve(
        [...new Set(ids)]
          .sort()
          .map((id) => this.rows.get(id))
          .filter((r) => r !== undefined),
      ),
    markApplied: (_manager, marks, processedAt) => {
      this.marks.push(marks);
      for (const m of marks) this.rows.get(m.id)!.processed_at = processedAt;
      return Promise.resolve();
    },
    markFailed: (_manager, id, message, policy) => {
      this.failures.push({ id, message, policy });
      const row = this.rows.get(id)!;
      row.attempts++;
      const dead = row.attempts >= policy.maxAttempts;
      const marked: DeadOrRetry = { ...row, dead, delay_ms: policy.backoffMs * 2 ** (row.attempts - 1) };
      return Promise.resolve(marked);
    },
  };
}

function setup() {
  const db = new FakeInbox();
  const enqueued: { ids: string[]; suffix: string; delayMs: number }[] = [];
  const queue: Pick<InboxQueue, 'enqueue'> = {
    enqueue: (ids: string[], suffix = '', delayMs = 0) => {
      enqueued.push({ ids, suffix, delayMs });
      return Promise.resolve(ids.length);
    },
  };
  const handled: InboundEvent[][] = [];
  const dead: { event: InboundEvent; lastError: string }[] = [];
  const handlers = new WebhookHandlerRegistry();
  handlers.register('test', {
    handle: (_manager, events) => {
      handled.push(events);
      if (events.some((e) => e.payload.fail)) return Promise.reject(new Error('handler refused event'));
      return Promise.resolve(
        events.map((e) => (e.payload.ignore ? { outcome: 'ignored', reason: 'not for us' } : { outcome: 'applied' })),
      );
    },
    onDead: (_manager, event, lastError) => {
      dead.push({ event, lastError });
      return Promise.resolve();
    },
  });
  const metrics = new InboundMetrics(new Registry());
  const applier = new InboxApplier(
    db.repository as InboxRepository,
    queue as InboxQueue,
    handlers,
    metrics,
    config as never,
  );
  return { db, enqueued, handled, dead, metrics, applier };
}

describe('InboxApplier.process', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('applies the jobs that arrive together in one transaction, in the order received', async () => {
    const { db, handled, applier } = setup();
    const [a, b, c] = [db.add(3), db.add(1), db.add(2, { ignore: true })];
    const summaries = await Promise.all([applier.process([a]), applier.process([b, c])]);
    expect(summaries).toEqual([
      { processed: 1, ignored: 0, skipped: 0 },
      { processed: 1, ignored: 1, skipped: 0 },
    ]);
    expect(db.transactions).toBe(1);
    expect(handled.map((events) => events.map((e) => e.eventId))).toEqual([['evt_1', 'evt_2', 'evt_3']]);
    expect(db.marks[0].map((m) => [m.id, m.status, m.outcome])).toEqual([
      [b, 'processed', 'applied'],
      [c, 'ignored', 'not for us'],
      [a, 'processed', 'applied'],
    ]);
  });

  it('skips rows applied before, so a duplicate job changes nothing', async () => {
    const { db, applier } = setup();
    const ids = [db.add(1), db.add(2)];
    await applier.process(ids);
    expect(await applier.process(ids)).toEqual({ processed: 0, ignored: 0, skipped: 2 });
    expect(db.marks).toHaveLength(1);
  });

  it('applies a failing job row by row, so one bad event fails alone and is retried after a backoff', async () => {
    const { db, enqueued, applier, metrics } = setup();
    const [good, bad] = [db.add(1), db.add(2, { fail: true })];
    expect(await applier.process([good, bad])).toEqual({ processed: 1, ignored: 0, skipped: 0, retrying: 1, dead: 0 });
    expect(db.failures).toEqual([
      { id: bad, message: 'handler refused event', policy: { maxAttempts: 3, backoffMs: 1000, backoffMaxMs: 60_000 } },
    ]);
    expect(enqueued).toEqual([{ ids: [bad], suffix: ':retry:1', delayMs: 1000 }]);
    expect((await metrics.dead.get()).values).toEqual([]);
  });

  it('marks a row dead at INBOX_MAX_ATTEMPTS, tells its handler and counts it', async () => {
    const { db, enqueued, dead, applier, metrics } = setup();
    const bad = db.add(1, { fail: true });
    db.rows.get(bad)!.attempts = 2;
    expect(await applier.process([bad])).toEqual({ processed: 0, ignored: 0, skipped: 0, retrying: 0, dead: 1 });
    expect(dead.map((d) => [d.event.inboxId, d.lastError])).toEqual([[bad, 'handler refused event']]);
    expect(enqueued).toEqual([]);
    expect((await metrics.dead.get()).values.map((v) => [v.labels.source, v.value])).toEqual([['test', 1]]);
  });

  it('fails the job without counting an attempt when PostgreSQL is down', async () => {
    const { db, applier } = setup();
    const id = db.add(1);
    db.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(applier.process([id])).rejects.toBe(db.failWith);
    expect(db.failures).toEqual([]);
  });
});
