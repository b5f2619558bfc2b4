import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { EntityManager } from 'typeorm';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxApplier } from './inbox-applier.js';
import type { InboxQueue } from './inbox-queue.js';
import type { DeadOrRetry, InboxMark, InboxRepository, LockedInboxRow, RetryPolicy } from './inbox.repository.js';
import type { SqlPart } from '../../common/db/sql-part.js';
import {
  WebhookHandlerRegistry,
  type HandleContext,
  type HandlerResult,
  type InboundEvent,
  type InboxCoLock,
} from './webhook-handler.js';

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

  /** How each batch's mark was written: by the applier's statement, or in a handler's (a part). */
  markedBy: ('applier' | 'handler')[] = [];
  coLocks: InboxCoLock[][] = [];

  add(i: number, payload: Record<string, unknown> = {}, source = 'test'): string {
    const id = uuid(i);
    this.rows.set(id, {
      id,
      source,
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

  /** What a handler's statement does with the mark's part. */
  writePart(part: SqlPart): void {
    const [marks, processedAt] = part.params as [InboxMark[], Date];
    this.marks.push(marks);
    this.markedBy.push('handler');
    for (const m of marks) this.rows.get(m.id)!.processed_at = processedAt;
    part.written = true;
  }

  readonly repository: Pick<
    InboxRepository,
    'transaction' | 'lockRows' | 'markApplied' | 'markAppliedPart' | 'markFailed'
  > = {
    transaction: <T>(work: (manager: EntityManager) => Promise<T>): Promise<T> => {
      if (this.failWith) return Promise.reject(this.failWith);
      this.transactions++;
      return work({} as EntityManager);
    },
    lockRows: (_manager, ids, coLocks = []) => {
      this.coLocks.push([...coLocks]);
      return Promise.resolve({
        rows: [...new Set(ids)]
          .sort()
          .map((id) => this.rows.get(id))
          .filter((r) => r !== undefined),
        coLocked: new Map(coLocks.map((l) => [l.name, [{ lockedFor: ids.length }]])),
      });
    },
    markAppliedPart: (marks, processedAt) => ({ name: 'inbox_mark', ctes: '', params: [marks, processedAt] }),
    markApplied: (_manager, marks, processedAt) => {
      this.marks.push(marks);
      this.markedBy.push('applier');
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
  // A source whose handler writes the inbox mark in its own last statement when offered
  // (as the payments' does); `keepMark` in a payload: it takes the mark and writes nothing.
  const contexts: HandleContext[] = [];
  handlers.register('folding', {
    handle: (_manager, events, context = {}) => {
      handled.push(events);
      contexts.push(context);
      const results = events.map((): HandlerResult => ({ outcome: 'applied', note: 'folded' }));
      if (context.markWith) {
        const part = context.markWith(results);
        if (!events.some((e) => e.payload.keepMark)) db.writePart(part);
      }
      return Promise.resolve(results);
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
  return { db, enqueued, handled, dead, metrics, applier, contexts, handlers };
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

  it('lets the last source’s handler write the whole batch’s mark in its last statement', async () => {
    const { db, applier, contexts } = setup();
    const [a, b, c] = [db.add(1), db.add(2, {}, 'folding'), db.add(3, { ignore: true })];
    expect(await applier.process([a, b, c])).toEqual({ processed: 2, ignored: 1, skipped: 0 });
    expect(db.markedBy).toEqual(['handler']);
    expect(db.marks[0].map((m) => [m.id, m.status, m.outcome])).toEqual([
      [a, 'processed', 'applied'],
      [b, 'processed', 'folded'],
      [c, 'ignored', 'not for us'],
    ]);
    expect(contexts.map((ctx) => typeof ctx.markWith)).toEqual(['function']);
  });

  it('marks the rows itself when the last source’s handler does not take the mark', async () => {
    const { db, applier } = setup();
    const [a, b] = [db.add(1, {}, 'folding'), db.add(2)];
    expect(await applier.process([a, b])).toEqual({ processed: 2, ignored: 0, skipped: 0 });
    // 'test' (the last source in the batch) takes no mark; 'folding' was not offered it.
    expect(db.markedBy).toEqual(['applier']);
  });

  it('fails a row whose handler took the mark and did not write it: it is not done', async () => {
    const { db, applier, enqueued } = setup();
    const id = db.add(1, { keepMark: true }, 'folding');
    expect(await applier.process([id])).toEqual({ processed: 0, ignored: 0, skipped: 0, retrying: 1, dead: 0 });
    expect(db.failures.map((f) => f.message)).toEqual(['The inbox mark was handed to a handler that did not write it']);
    expect(db.rows.get(id)!.processed_at).toBeNull();
    expect(enqueued.map((e) => e.ids)).toEqual([[id]]);
  });

  it('locks the co-locks’ rows with the inbox rows and hands them to the handlers', async () => {
    const { db, applier, contexts, handlers } = setup();
    const lock = { name: 'things', sql: 'SELECT to_jsonb(t) AS row FROM things t ORDER BY id FOR UPDATE' };
    handlers.registerCoLock(lock);
    handlers.registerCoLock({ ...lock });
    expect(() => handlers.registerCoLock({ name: 'things', sql: 'SELECT 1' })).toThrow(/named "things"/);
    await applier.process([db.add(1, {}, 'folding')]);
    expect(db.coLocks).toEqual([[lock]]);
    expect(contexts[0].coLocked?.get('things')).toEqual([{ lockedFor: 1 }]);
  });

  it('fails the job without counting an attempt when PostgreSQL is down', async () => {
    const { db, applier } = setup();
    const id = db.add(1);
    db.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(applier.process([id])).rejects.toBe(db.failWith);
    expect(db.failures).toEqual([]);
  });
});
