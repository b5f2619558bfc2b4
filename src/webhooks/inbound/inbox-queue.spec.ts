import { Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { INBOX_JOB_MAX_EVENTS, InboxQueue, type ApplyInboxJob } from './inbox-queue.js';
import type { InboxRepository } from './inbox.repository.js';

const config = { get: (name: string) => ({ ENQUEUE_TIMEOUT_MS: 50 })[name] };
const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function setup(addBulk?: () => Promise<unknown>) {
  const jobs: { jobId: string; inboxIds: string[]; delay?: number }[] = [];
  const queue = {
    addBulk:
      addBulk ??
      ((list: { data: ApplyInboxJob; opts: { jobId: string; delay?: number } }[]) => {
        jobs.push(...list.map((j) => ({ jobId: j.opts.jobId, inboxIds: j.data.inboxIds!, delay: j.opts.delay })));
        return Promise.resolve([]);
      }),
  } as unknown as Queue<ApplyInboxJob>;
  const stale: string[] = [];
  const claims: [number, number][] = [];
  const repository: Pick<InboxRepository, 'claimStale'> = {
    claimStale: (staleAfterMs, limit) => {
      claims.push([staleAfterMs, limit]);
      return Promise.resolve(stale.splice(0, limit));
    },
  };
  const inboxQueue = new InboxQueue(queue, repository as InboxRepository, config as never);
  return { jobs, stale, claims, inboxQueue };
}

describe('InboxQueue', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('enqueues at most INBOX_JOB_MAX_EVENTS rows per job, job id = first row id', async () => {
    const { jobs, inboxQueue } = setup();
    const ids = Array.from({ length: 250 }, (_, i) => uuid(i));
    expect(await inboxQueue.enqueue(ids)).toBe(250);
    expect(jobs.map((j) => [j.jobId, j.inboxIds.length])).toEqual([
      [ids[0], INBOX_JOB_MAX_EVENTS],
      [ids[100], INBOX_JOB_MAX_EVENTS],
      [ids[200], 50],
    ]);
    expect(jobs.flatMap((j) => j.inboxIds)).toEqual(ids);
  });

  it('delays a retry and suffixes its job id', async () => {
    const { jobs, inboxQueue } = setup();
    expect(await inboxQueue.enqueue([uuid(1)], ':retry:2', 4000)).toBe(1);
    expect(jobs).toEqual([{ jobId: `${uuid(1)}:retry:2`, inboxIds: [uuid(1)], delay: 4000 }]);
  });

  it('answers 0 when Redis takes no job within ENQUEUE_TIMEOUT_MS', async () => {
    const { inboxQueue } = setup(() => new Promise(() => undefined));
    expect(await inboxQueue.enqueue([uuid(1)])).toBe(0);
  });

  it('re-enqueues the stale rows it claims under a new job id', async () => {
    const { jobs, stale, claims, inboxQueue } = setup();
    expect(await inboxQueue.sweep(1000)).toBe(0);
    stale.push(uuid(1), uuid(2));
    expect(await inboxQueue.sweep(1000)).toBe(2);
    expect(claims).toEqual([
      [1000, 500],
      [1000, 500],
    ]);
    expect(jobs).toEqual([
      { jobId: expect.stringMatching(new RegExp(`^${uuid(1)}:swept:\\d+$`)) as string, inboxIds: [uuid(1), uuid(2)] },
    ]);
  });
});
