import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { Queue } from 'bull';
import type { DataSource } from 'typeorm';
import { HooklineMetrics } from '../../metrics/hookline-metrics.js';
import type { InboundEventDto } from './inbound-event.dto.js';
import { INBOX_JOB_MAX_EVENTS, InboxService, RECEIVE_MAX_BATCH_CHARS, type ApplyInboxJob } from './inbox.service.js';
import { WebhookHandlerRegistry } from './webhook-handler.js';
import { InboxMetrics } from './inbox-metrics.js';
import type { VerifiedWebhook } from './webhook-signature.guard.js';

const config = { get: (name: string) => ({ ENQUEUE_TIMEOUT_MS: 1000, INBOX_BACKLOG_LIMIT: 10_000 })[name] };

/**
 * PostgreSQL as far as the receiver's group commit sees it: the multi-row INSERT …
 * ON CONFLICT DO NOTHING (a unique source + event_id), and the queued_at stamp.
 */
class FakeDb {
  rows = new Map<string, { id: string; payload: unknown }>();
  inserts: number[] = [];
  failWith: Error | null = null;
  /** Event ids PostgreSQL refuses (a constraint the receiver did not foresee). */
  refuse = new Set<string>();

  /** Unprocessed rows, as the backlog count reads them; `countGate` holds counts until it resolves. */
  backlog = 0;
  counts = 0;
  countGate: Promise<void> = Promise.resolve();

  query = (sql: string, params: unknown[]): Promise<unknown[]> => {
    if (this.failWith) return Promise.reject(this.failWith);
    if (sql.includes('count(*)')) {
      this.counts++;
      return this.countGate.then(() => [{ n: this.backlog }]);
    }
    if (sql.includes('INSERT INTO webhook_inbox')) {
      const [sources, eventIds, , , , json] = params as [string[], string[], string[], Date[], Date[], string];
      if (eventIds.some((e) => this.refuse.has(e))) return Promise.reject(new Error('value too long for type'));
      this.inserts.push(eventIds.length);
      const docs = JSON.parse(json) as unknown[];
      const inserted: { id: string; source: string; event_id: string }[] = [];
      eventIds.forEach((eventId, i) => {
        const key = `${sources[i]}/${eventId}`;
        if (this.rows.has(key)) return;
        const id = `00000000-0000-4000-8000-${String(this.rows.size + 1).padStart(12, '0')}`;
        this.rows.set(key, { id, payload: docs[i] });
        inserted.push({ id, source: sources[i], event_id: eventId });
      });
      return Promise.resolve(inserted);
    }
    return Promise.resolve([]); // UPDATE … queued_at
  };

  /** What preparedQuery() reaches outside a transaction: a pooled connection's pg client. */
  manager = {
    queryRunner: undefined,
    connection: {
      createQueryRunner: () => ({
        // PostgreSQL down: no connection to be had, as the pool would say.
        connect: () =>
          this.failWith
            ? Promise.reject(this.failWith)
            : Promise.resolve({
                query: ({ text, values }: { text: string; values: unknown[] }) =>
                  this.query(text, values).then((rows) => ({ rows })),
              }),
        release: () => Promise.resolve(),
      }),
    },
  };
}

function setup() {
  const db = new FakeDb();
  const jobs: { jobId: string; inboxIds: string[] }[] = [];
  const queue = {
    addBulk: (list: { data: ApplyInboxJob; opts: { jobId: string } }[]) => {
      jobs.push(...list.map((j) => ({ jobId: j.opts.jobId, inboxIds: j.data.inboxIds! })));
      return Promise.resolve([]);
    },
  } as unknown as Queue<ApplyInboxJob>;
  const inbox = new InboxService(
    db as unknown as DataSource,
    queue,
    new WebhookHandlerRegistry(),
    new HooklineMetrics(new Registry()),
    new InboxMetrics(new Registry()),
    config as never,
  );
  return { db, jobs, inbox };
}

const webhook = (): VerifiedWebhook => ({
  source: 'psp',
  timestamp: 0,
  receivedAt: new Date(),
  verifiedAt: new Date(),
});
const event = (id: string): InboundEventDto => ({ event_id: id, type: 'payment.completed', data: { n: id } });
const raw = (e: InboundEventDto) => Buffer.from(JSON.stringify(e));

describe('InboxService.receive (group commit)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('stores concurrent events with one INSERT and enqueues the new rows as one job', async () => {
    const { db, jobs, inbox } = setup();
    const events = Array.from({ length: 20 }, (_, i) => event(`evt_${i}`));
    const outcomes = await Promise.all(events.map((e) => inbox.receive(webhook(), e, raw(e))));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect(db.inserts).toEqual([20]);
    expect(db.rows.size).toBe(20);
    const ids = [...db.rows.values()].map((r) => r.id);
    expect(jobs).toEqual([{ jobId: ids[0], inboxIds: ids }]);
    // The stored payload is the verified body itself.
    expect(db.rows.get('psp/evt_7')!.payload).toEqual(events[7]);
  });

  it('splits a burst of large events into INSERTs of at most RECEIVE_MAX_BATCH_CHARS', async () => {
    const { db, inbox } = setup();
    const large = (id: string): InboundEventDto => ({ ...event(id), data: { blob: 'x'.repeat(250 * 1024) } });
    const events = Array.from({ length: 20 }, (_, i) => large(`evt_large_${i}`));
    const outcomes = await Promise.all(events.map((e) => inbox.receive(webhook(), e, raw(e))));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    // 16 bodies of about 250 KB fit in 4 MiB of JSON; the other 4 go in a second INSERT.
    expect(RECEIVE_MAX_BATCH_CHARS).toBe(4 * 1024 * 1024);
    expect(db.inserts).toEqual([16, 4]);
  });

  it('accepts an event sent twice in one batch once and answers the other as a duplicate', async () => {
    const { db, jobs, inbox } = setup();
    const e = event('evt_twice');
    const outcomes = await Promise.all([1, 2, 3].map(() => inbox.receive(webhook(), e, raw(e))));
    expect(outcomes.map((o) => o.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(db.rows.size).toBe(1);
    expect(jobs).toEqual([{ jobId: db.rows.get('psp/evt_twice')!.id, inboxIds: [db.rows.get('psp/evt_twice')!.id] }]);
    const again = await inbox.receive(webhook(), e, raw(e));
    expect(again.status).toBe('duplicate');
    expect(jobs).toHaveLength(1);
  });

  it('fails every waiter of a batch when PostgreSQL is down, and stores and enqueues nothing', async () => {
    const { db, jobs, inbox } = setup();
    db.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((id) => inbox.receive(webhook(), event(id), raw(event(id)))),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBe(db.failWith);
    expect(db.rows.size).toBe(0);
    expect(jobs).toHaveLength(0);
  });

  it('retries a batch PostgreSQL refuses one by one, so only the refused event fails', async () => {
    const { db, inbox } = setup();
    db.refuse.add('evt_bad');
    const results = await Promise.allSettled(
      ['evt_ok1', 'evt_bad', 'evt_ok2'].map((id) => inbox.receive(webhook(), event(id), raw(event(id)))),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect([...db.rows.keys()].sort()).toEqual(['psp/evt_ok1', 'psp/evt_ok2']);
  });

  it('enqueues at most INBOX_JOB_MAX_EVENTS rows per job, job id = first row id', async () => {
    const { jobs, inbox } = setup();
    const ids = Array.from({ length: 250 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect(await inbox.enqueue(ids)).toBe(250);
    expect(jobs.map((j) => [j.jobId, j.inboxIds.length])).toEqual([
      [ids[0], INBOX_JOB_MAX_EVENTS],
      [ids[100], INBOX_JOB_MAX_EVENTS],
      [ids[200], 50],
    ]);
    expect(jobs.flatMap((j) => j.inboxIds)).toEqual(ids);
  });
});

describe('InboxService.backlogFull', () => {
  const gate = () => {
    let open!: () => void;
    return { held: new Promise<void>((r) => (open = r)), open: () => open() };
  };
  const settledNow = async <T>(calls: Promise<T>[]) => {
    let settled = false;
    void Promise.all(calls).then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    return settled;
  };
  afterEach(() => jest.restoreAllMocks());

  it('counts once for a burst of requests, and lets them go on with the last count while it counts again', async () => {
    const { db, inbox } = setup();
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    db.backlog = 5;
    const first = gate();
    db.countGate = first.held;
    // Nothing known yet: the first burst waits for one count.
    const burst = Array.from({ length: 10 }, () => inbox.backlogFull());
    expect(await settledNow(burst)).toBe(false);
    first.open();
    expect(await Promise.all(burst)).toEqual(Array(10).fill(false));
    expect(db.counts).toBe(1);

    // A second later the count is stale: one recount, which nobody waits for.
    now += 1001;
    db.backlog = 20_000;
    const second = gate();
    db.countGate = second.held;
    const during = Array.from({ length: 10 }, () => inbox.backlogFull());
    expect(await settledNow(during)).toBe(true);
    expect(await Promise.all(during)).toEqual(Array(10).fill(false));
    expect(db.counts).toBe(2);
    second.open();
    await new Promise((r) => setImmediate(r));
    expect(await inbox.backlogFull()).toBe(true);
    expect(db.counts).toBe(2);
  });

  it('keeps the last count when a recount fails, and fails the first count when it cannot count', async () => {
    const { db, inbox } = setup();
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    db.failWith = down;
    await expect(inbox.backlogFull()).rejects.toBe(down);
    db.failWith = null;
    db.backlog = 20_000;
    expect(await inbox.backlogFull()).toBe(true);
    now += 1001;
    db.failWith = down;
    expect(await inbox.backlogFull()).toBe(true);
    // The failed recount is dropped (no unhandled rejection); the next request counts again.
    await new Promise((r) => setImmediate(r));
    db.failWith = null;
    db.backlog = 3;
    await inbox.backlogFull();
    await new Promise((r) => setImmediate(r));
    expect(await inbox.backlogFull()).toBe(false);
  });
});
