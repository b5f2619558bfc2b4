import type { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicTask } from './periodic-task';

describe('PeriodicTask', () => {
  let scheduler: SchedulerRegistry;
  let errors: string[];
  const logger = { error: (msg: string) => errors.push(msg) } as unknown as Logger;

  beforeEach(() => {
    jest.useFakeTimers();
    scheduler = new SchedulerRegistry();
    errors = [];
  });

  afterEach(() => {
    for (const name of scheduler.getIntervals()) scheduler.deleteInterval(name);
    for (const name of scheduler.getTimeouts()) scheduler.deleteTimeout(name);
    jest.useRealTimers();
  });

  /** Advances the fake clock and lets the runs it started settle. */
  const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

  it('runs first after firstAfterMs, then every everyMs', async () => {
    let runs = 0;
    new PeriodicTask('Task', logger, () => Promise.resolve(runs++)).start(scheduler, {
      name: 'task',
      everyMs: 1000,
      firstAfterMs: 100,
    });
    expect(scheduler.getTimeouts()).toEqual(['task:first']);
    await advance(99);
    expect(runs).toBe(0);
    await advance(1);
    expect(runs).toBe(1);
    // The first-run timeout has handed over to the interval, under the task's name.
    expect(scheduler.getTimeouts()).toEqual([]);
    expect(scheduler.getIntervals()).toEqual(['task']);
    await advance(999);
    expect(runs).toBe(1);
    await advance(1);
    expect(runs).toBe(2);
    await advance(2000);
    expect(runs).toBe(4);
  });

  it('without firstAfterMs, runs first after one interval (a plain interval)', async () => {
    let runs = 0;
    new PeriodicTask('Task', logger, () => Promise.resolve(runs++)).start(scheduler, { name: 'task', everyMs: 500 });
    expect(scheduler.getTimeouts()).toEqual([]);
    expect(scheduler.getIntervals()).toEqual(['task']);
    await advance(499);
    expect(runs).toBe(0);
    await advance(1);
    expect(runs).toBe(1);
  });

  it('firstAfterMs 0 runs at once, on the next turn', async () => {
    let runs = 0;
    new PeriodicTask('Task', logger, () => Promise.resolve(runs++)).start(scheduler, {
      name: 'task',
      everyMs: 1000,
      firstAfterMs: 0,
    });
    expect(runs).toBe(0);
    await advance(0);
    expect(runs).toBe(1);
  });

  it('skips a run while the one before is still going', async () => {
    let started = 0;
    let finish: () => void = () => undefined;
    new PeriodicTask('Task', logger, () => {
      started++;
      return new Promise<void>((resolve) => (finish = resolve));
    }).start(scheduler, { name: 'task', everyMs: 100 });
    await advance(350); // due at 100, 200 and 300: the first is still running
    expect(started).toBe(1);
    finish();
    await advance(100);
    expect(started).toBe(2);
  });

  it('logs a failure and runs again next time', async () => {
    let runs = 0;
    const task = new PeriodicTask('Housekeeping', logger, () =>
      ++runs === 1 ? Promise.reject(new Error('database is down')) : Promise.resolve(),
    );
    task.start(scheduler, { name: 'task', everyMs: 100 });
    await advance(100);
    expect(errors).toEqual(['Housekeeping failed: database is down']);
    await advance(100);
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
    await expect(task.run()).resolves.toBeUndefined();
  });

  it('stops once shutdown clears the registry, in either phase', async () => {
    let runs = 0;
    new PeriodicTask('Task', logger, () => Promise.resolve(runs++)).start(scheduler, {
      name: 'early',
      everyMs: 100,
      firstAfterMs: 50,
    });
    for (const name of scheduler.getTimeouts()) scheduler.deleteTimeout(name);
    await advance(1000);
    expect(runs).toBe(0);

    new PeriodicTask('Task', logger, () => Promise.resolve(runs++)).start(scheduler, {
      name: 'late',
      everyMs: 100,
      firstAfterMs: 50,
    });
    await advance(50);
    expect(runs).toBe(1);
    for (const name of scheduler.getIntervals()) scheduler.deleteInterval(name);
    await advance(1000);
    expect(runs).toBe(1);
  });

  describe('startAdaptive', () => {
    it('runs again as long after each run as the run answered, and after a failure retryAfterMs', async () => {
      const waits = [300, 50, NaN];
      const at: number[] = [];
      const t0 = Date.now();
      new PeriodicTask('Task', logger, () => {
        at.push(Date.now() - t0);
        const next = waits.shift();
        return next === undefined || Number.isNaN(next) ? Promise.reject(new Error('down')) : Promise.resolve(next);
      }).startAdaptive(scheduler, { name: 'adaptive', firstAfterMs: 10, retryAfterMs: 1000 });
      await advance(10);
      expect(at).toEqual([10]);
      await advance(299);
      expect(at).toHaveLength(1);
      await advance(1);
      expect(at).toEqual([10, 310]);
      await advance(50);
      expect(at).toEqual([10, 310, 360]); // this run fails: the next is retryAfterMs later
      await advance(999);
      expect(at).toHaveLength(3);
      await advance(1);
      expect(at).toHaveLength(4);
      expect(errors).toEqual(['Task failed: down', 'Task failed: down']);
    });

    /**
     * A task that records when each run starts (ms after t0) and asks to sleep `sleepAfter(run)`;
     * its third run lasts until `finish()`, then asks for 1000 ms.
     */
    function recordingTask(sleepAfter: (run: number) => number) {
      const at: number[] = [];
      const t0 = Date.now();
      const control = { at, t0, finish: undefined as (() => void) | undefined };
      const task = new PeriodicTask('Task', logger, () => {
        at.push(Date.now() - t0);
        if (at.length === 3) return new Promise<number>((resolve) => (control.finish = () => resolve(1000)));
        return Promise.resolve(sleepAfter(at.length));
      });
      return { task, ...control, finish: () => control.finish!() };
    }

    it('wake() runs at once instead of at the end of the sleep; during a run, the next run follows it', async () => {
      // The third run takes a while (100 ms), woken halfway.
      const { task, at, finish } = recordingTask(() => 1000);
      task.wake(); // before start: nothing to wake
      task.startAdaptive(scheduler, { name: 'adaptive', firstAfterMs: 10, retryAfterMs: 1000 });
      await advance(10);
      expect(at).toEqual([10]);
      await advance(100);
      task.wake(); // asleep until 1010: runs now instead
      await advance(0);
      expect(at).toEqual([10, 110]);
      await advance(1000);
      expect(at).toEqual([10, 110, 1110]);
      await advance(50);
      task.wake(); // during the run: the next comes when it ends, not 1000 ms after
      await advance(50);
      finish();
      await advance(0);
      expect(at).toEqual([10, 110, 1110, 1210]);
      await advance(999);
      expect(at).toHaveLength(4);
      await advance(1);
      expect(at).toHaveLength(5);
    });

    it('wakeBy(at) brings a later run forward to at, and leaves an earlier one alone', async () => {
      const { task, at, t0, finish } = recordingTask((run) => (run === 1 ? 1000 : 100));
      task.startAdaptive(scheduler, { name: 'adaptive', firstAfterMs: 10, retryAfterMs: 1000 });
      await advance(10);
      expect(at).toEqual([10]); // asleep until 1010
      task.wakeBy(t0 + 300); // sooner than 1010: the run moves to 300
      task.wakeBy(t0 + 900); // later than 300: nothing changes
      await advance(289);
      expect(at).toEqual([10]);
      await advance(1);
      expect(at).toEqual([10, 300]); // asleep until 400
      task.wakeBy(t0 + 600); // later than 400: nothing changes
      await advance(100);
      expect(at).toEqual([10, 300, 400]); // a run that takes a while
      task.wakeBy(t0 + 450); // during the run: the next comes by 450, not 1000 ms after it ends
      await advance(20);
      finish();
      await advance(0);
      expect(at).toHaveLength(3);
      await advance(30);
      expect(at).toEqual([10, 300, 400, 450]);
    });

    it('stops once shutdown clears the registry, even while a run is going', async () => {
      let runs = 0;
      let finish: () => void = () => undefined;
      new PeriodicTask('Task', logger, () => {
        runs++;
        return new Promise<number>((resolve) => (finish = () => resolve(10)));
      }).startAdaptive(scheduler, { name: 'adaptive', firstAfterMs: 10, retryAfterMs: 10 });
      await advance(10);
      expect(runs).toBe(1);
      for (const name of scheduler.getTimeouts()) scheduler.deleteTimeout(name);
      finish();
      await advance(1000);
      expect(runs).toBe(1);
      expect(scheduler.getTimeouts()).toEqual([]);
    });
  });
});
