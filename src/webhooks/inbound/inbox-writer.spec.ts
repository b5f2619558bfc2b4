import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { InboundEventDto } from './inbound-event.dto.js';
import { InboundMetrics } from './inbound-metrics.js';
import type { InboxQueue } from './inbox-queue.js';
import { eventKey, type IncomingEvent, type InboxRepository } from './inbox.repository.js';
import { InboxWriter, RECEIVE_MAX_BATCH_CHARS } from './inbox-writer.js';
import type { VerifiedWebhook } from './webhook-signature.guard.js';

const config = { get: (name: string) => ({ INBOX_BACKLOG_LIMIT: 10_000 })[name] };

/** The inbox table as the writer sees it: a unique (source, event_id), and the backlog count. */
class FakeInbox {
  rows = new Map<string, { id: string; payload: unknown; sha256: string }>();
  inserts: number[] = [];
  failWith: Error | null = null;
  /** Event ids PostgreSQL refuses (a constraint the receiver did not foresee). */
  refuse = new Set<string>();
  /** Unprocessed rows, as the backlog count reads them; `countGate` holds counts until it resolves. */
  backlog = 0;
  counts = 0;
  countGate: Promise<void> = Promise.resolve();

  readonly repository: Pick<InboxRepository, 'countBacklog' | 'insertReceived' | 'storedHashes' | 'insertReconciled'> =
    {
      countBacklog: () => {
        if (this.failWith) return Promise.reject(this.failWith);
        this.counts++;
        return this.countGate.then(() => this.backlog);
      },
      insertReceived: (items: IncomingEvent[]) => {
        if (this.failWith) return Promise.reject(this.failWith);
        if (items.some((it) => this.refuse.has(it.eventId)))
          return Promise.reject(new Error('value too long for type'));
        this.inserts.push(items.length);
        const inserted = new Map<string, string>();
        for (const it of items) {
          const key = eventKey(it.source, it.eventId);
          if (this.rows.has(key)) continue;
          const id = `00000000-0000-4000-8000-${String(this.rows.size + 1).padStart(12, '0')}`;
          this.rows.set(key, { id, payload: JSON.parse(it.json), sha256: it.sha256 });
          inserted.set(key, id);
        }
        return Promise.resolve(inserted);
      },
      storedHashes: (items) =>
        Promise.resolve(
          new Map(
            items.map((it) => [
              eventKey(it.source, it.eventId),
              this.rows.get(eventKey(it.source, it.eventId))!.sha256,
            ]),
          ),
        ),
      insertReconciled: () => Promise.resolve([]),
    };
}

function setup() {
  const db = new FakeInbox();
  const enqueued: string[][] = [];
  const queue: Pick<InboxQueue, 'enqueue'> = {
    enqueue: (ids: string[]) => {
      enqueued.push(ids);
      return Promise.resolve(ids.length);
    },
  };
  const metrics = new InboundMetrics(new Registry());
  const writer = new InboxWriter(db.repository as InboxRepository, queue as InboxQueue, metrics, config as never);
  return { db, enqueued, writer, metrics };
}

const webhook = (): VerifiedWebhook => ({
  source: 'psp',
  timestamp: 0,
  receivedAt: new Date(),
  verifiedAt: new Date(),
});
const event = (id: string): InboundEventDto => ({ event_id: id, type: 'payment.completed', data: { n: id } });
const raw = (e: InboundEventDto) => Buffer.from(JSON.stringify(e));

describe('InboxWriter.receive (group commit)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('stores concurrent events with one INSERT and enqueues the new rows together', async () => {
    const { db, enqueued, writer } = setup();
    const events = Array.from({ length: 20 }, (_, i) => event(`evt_${i}`));
    const outcomes = await Promise.all(events.map((e) => writer.receive(webhook(), e, raw(e))));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect(db.inserts).toEqual([20]);
    expect(db.rows.size).toBe(20);
    expect(enqueued).toEqual([[...db.rows.values()].map((r) => r.id)]);
    // The stored payload is the verified body itself.
    expect(db.rows.get(eventKey('psp', 'evt_7'))!.payload).toEqual(events[7]);
  });

  it('splits a burst of large events into INSERTs of at most RECEIVE_MAX_BATCH_CHARS', async () => {
    const { db, writer } = setup();
    const large = (id: string): InboundEventDto => ({ ...event(id), data: { blob: 'x'.repeat(250 * 1024) } });
    const events = Array.from({ length: 20 }, (_, i) => large(`evt_large_${i}`));
    const outcomes = await Promise.all(events.map((e) => writer.receive(webhook(), e, raw(e))));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    // 16 bodies of about 250 KB fit in 4 MiB of JSON; the other 4 go in a second INSERT.
    expect(RECEIVE_MAX_BATCH_CHARS).toBe(4 * 1024 * 1024);
    expect(db.inserts).toEqual([16, 4]);
  });

  it('accepts an event sent twice in one batch once and answers the other as a duplicate', async () => {
    const { db, enqueued, writer } = setup();
    const e = event('evt_twice');
    const outcomes = await Promise.all([1, 2, 3].map(() => writer.receive(webhook(), e, raw(e))));
    expect(outcomes.map((o) => o.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(db.rows.size).toBe(1);
    expect(enqueued).toEqual([[db.rows.get(eventKey('psp', 'evt_twice'))!.id]]);
    const again = await writer.receive(webhook(), e, raw(e));
    expect(again.status).toBe('duplicate');
    expect(enqueued).toHaveLength(1);
  });

  it('counts a redelivery whose body differs from the stored one', async () => {
    const { writer, metrics } = setup();
    const e = event('evt_changed');
    await writer.receive(webhook(), e, raw(e));
    const other = { ...e, data: { n: 'other' } };
    expect((await writer.receive(webhook(), other, raw(other))).status).toBe('duplicate');
    expect((await writer.receive(webhook(), e, raw(e))).status).toBe('duplicate');
    const counted = (await metrics.duplicateBodyDiffers.get()).values;
    expect(counted.map((v) => [v.labels.source, v.value])).toEqual([['psp', 1]]);
  });

  it('fails every waiter of a batch when PostgreSQL is down, and stores and enqueues nothing', async () => {
    const { db, enqueued, writer } = setup();
    await writer.backlogFull(); // counted while PostgreSQL was up
    db.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((id) => writer.receive(webhook(), event(id), raw(event(id)))),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBe(db.failWith);
    expect(db.rows.size).toBe(0);
    expect(enqueued).toHaveLength(0);
  });

  it('retries a batch PostgreSQL refuses one by one, so only the refused event fails', async () => {
    const { db, writer } = setup();
    db.refuse.add('evt_bad');
    const results = await Promise.allSettled(
      ['evt_ok1', 'evt_bad', 'evt_ok2'].map((id) => writer.receive(webhook(), event(id), raw(event(id)))),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect([...db.rows.keys()].sort()).toEqual([eventKey('psp', 'evt_ok1'), eventKey('psp', 'evt_ok2')]);
  });

  it('answers backlog-full and stores nothing while the backlog is over INBOX_BACKLOG_LIMIT', async () => {
    const { db, enqueued, writer } = setup();
    db.backlog = 10_000;
    expect(await writer.receive(webhook(), event('evt_late'), raw(event('evt_late')))).toEqual({
      status: 'backlog-full',
    });
    expect(db.inserts).toEqual([]);
    expect(enqueued).toEqual([]);
  });
});

describe('InboxWriter.backlogFull', () => {
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
    const { db, writer } = setup();
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    db.backlog = 5;
    const first = gate();
    db.countGate = first.held;
    // Nothing known yet: the first burst waits for one count.
    const burst = Array.from({ length: 10 }, () => writer.backlogFull());
    expect(await settledNow(burst)).toBe(false);
    first.open();
    expect(await Promise.all(burst)).toEqual(Array(10).fill(false));
    expect(db.counts).toBe(1);

    // A second later the count is stale: one recount, which nobody waits for.
    now += 1001;
    db.backlog = 20_000;
    const second = gate();
    db.countGate = second.held;
    const during = Array.from({ length: 10 }, () => writer.backlogFull());
    expect(await settledNow(during)).toBe(true);
    expect(await Promise.all(during)).toEqual(Array(10).fill(false));
    expect(db.counts).toBe(2);
    second.open();
    await new Promise((r) => setImmediate(r));
    expect(await writer.backlogFull()).toBe(true);
    expect(db.counts).toBe(2);
  });

  it('keeps the last count when a recount fails, and fails the first count when it cannot count', async () => {
    const { db, writer } = setup();
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    db.failWith = down;
    await expect(writer.backlogFull()).rejects.toBe(down);
    db.failWith = null;
    db.backlog = 20_000;
    expect(await writer.backlogFull()).toBe(true);
    now += 1001;
    db.failWith = down;
    expect(await writer.backlogFull()).toBe(true);
    // The failed recount is dropped (no unhandled rejection); the next request counts again.
    await new Promise((r) => setImmediate(r));
    db.failWith = null;
    db.backlog = 3;
    await writer.backlogFull();
    await new Promise((r) => setImmediate(r));
    expect(await writer.backlogFull()).toBe(false);
  });

  it('adds the rows it stores to the cached count between counts', async () => {
    const { db, writer } = setup();
    db.backlog = 9_999;
    expect(await writer.backlogFull()).toBe(false);
    await writer.receive(webhook(), event('evt_last'), raw(event('evt_last')));
    expect(await writer.backlogFull()).toBe(true);
    expect(db.counts).toBe(1);
  });
});
