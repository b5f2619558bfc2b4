import { GroupCommit } from './group-commit.js';

/** A write that holds each batch until the test releases it. */
function heldWriter() {
  const batches: { items: number[]; release: (r?: Error) => void }[] = [];
  const waiters: (() => void)[] = [];
  const write = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({ items, release: (err) => (err ? reject(err) : resolve(items.map((i) => `r${i}`))) });
      waiters.splice(0).forEach((w) => w());
    });
  const nextBatch = async (n: number) => {
    while (batches.length < n) await new Promise<void>((r) => waiters.push(r));
    return batches[n - 1];
  };
  return { write, batches, nextBatch };
}

describe('GroupCommit', () => {
  it('writes items submitted in the same turn as one batch and gives each its own result', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 100, 1);
    const results = Promise.all([1, 2, 3].map((i) => gc.submit(i)));
    (await w.nextBatch(1)).release();
    await expect(results).resolves.toEqual(['r1', 'r2', 'r3']);
    expect(w.batches.map((b) => b.items)).toEqual([[1, 2, 3]]);
  });

  it('collects items arriving while a write is in flight into the next batch', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 100, 1);
    const first = gc.submit(1);
    const firstBatch = await w.nextBatch(1);
    const later = [2, 3, 4].map((i) => gc.submit(i));
    expect(gc.waiting).toBe(3);
    firstBatch.release();
    await expect(first).resolves.toBe('r1');
    (await w.nextBatch(2)).release();
    await expect(Promise.all(later)).resolves.toEqual(['r2', 'r3', 'r4']);
    expect(w.batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
  });

  it('runs at most maxInFlight writes and splits batches at maxBatch', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 2, 2);
    const all = Promise.all([1, 2, 3, 4, 5].map((i) => gc.submit(i)));
    await w.nextBatch(2);
    await new Promise((r) => setImmediate(r));
    expect(w.batches.map((b) => b.items)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    w.batches[0].release();
    (await w.nextBatch(3)).release();
    w.batches[1].release();
    await expect(all).resolves.toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(w.batches[2].items).toEqual([5]);
  });

  it('starts writes beyond maxInFlight, up to fullBatchInFlight, only for a full batch', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 2, 1, { fullBatchInFlight: 2 });
    const turn = () => new Promise((r) => setImmediate(r));
    const all = [gc.submit(1)];
    await w.nextBatch(1);
    // One item waiting: no second write while one runs.
    all.push(gc.submit(2));
    await turn();
    expect(w.batches).toHaveLength(1);
    // A full batch waiting: a second write starts beside the first.
    all.push(gc.submit(3));
    expect((await w.nextBatch(2)).items).toEqual([2, 3]);
    // A full batch again, but two writes run: it waits for one of them to end.
    all.push(gc.submit(4), gc.submit(5));
    await turn();
    expect(w.batches).toHaveLength(2);
    w.batches[0].release();
    expect((await w.nextBatch(3)).items).toEqual([4, 5]);
    w.batches[1].release();
    w.batches[2].release();
    await expect(Promise.all(all)).resolves.toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
  });

  it('splits batches by weight too, and writes an item heavier than the bound alone', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 100, 1, { size: { weigh: (i: number) => i, max: 10 } });
    const all = Promise.all([4, 5, 2, 12, 3].map((i) => gc.submit(i)));
    for (let n = 1; n <= 4; n++) (await w.nextBatch(n)).release();
    await expect(all).resolves.toEqual(['r4', 'r5', 'r2', 'r12', 'r3']);
    expect(w.batches.map((b) => b.items)).toEqual([[4, 5], [2], [12], [3]]);
  });

  it('fails every item of a batch whose write fails, and keeps serving later items', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 100, 1);
    const failing = [1, 2].map((i) => gc.submit(i));
    (await w.nextBatch(1)).release(new Error('connection refused'));
    for (const p of failing) await expect(p).rejects.toThrow('connection refused');
    const after = gc.submit(3);
    (await w.nextBatch(2)).release();
    await expect(after).resolves.toBe('r3');
  });

  it('with retryAlone, writes a failed batch again item by item in its own slot, so only the item at fault fails', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 100, 1, { retryAlone: (err) => !/down/.test(String(err)) });
    const all = [1, 2, 3].map((i) => gc.submit(i));
    (await w.nextBatch(1)).release(new Error('row 2 refused'));
    (await w.nextBatch(2)).release();
    const later = gc.submit(4); // the retries hold the only slot: 4 waits for them
    (await w.nextBatch(3)).release(new Error('row 2 refused'));
    (await w.nextBatch(4)).release();
    const results = await Promise.allSettled(all);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'r1',
      'row 2 refused',
      'r3',
    ]);
    (await w.nextBatch(5)).release();
    await expect(later).resolves.toBe('r4');
    expect(w.batches.map((b) => b.items)).toEqual([[1, 2, 3], [1], [2], [3], [4]]);
  });

  it('with retryAlone, fails the whole batch at once for an error it does not accept, and never retries a lone item', async () => {
    const w = heldWriter();
    const gc = new GroupCommit(w.write, 100, 1, { retryAlone: (err) => !/down/.test(String(err)) });
    const batch = [1, 2].map((i) => gc.submit(i));
    (await w.nextBatch(1)).release(new Error('database down'));
    for (const p of batch) await expect(p).rejects.toThrow('database down');
    const alone = gc.submit(3);
    (await w.nextBatch(2)).release(new Error('row 3 refused'));
    await expect(alone).rejects.toThrow('row 3 refused');
    const after = gc.submit(4);
    (await w.nextBatch(3)).release();
    await expect(after).resolves.toBe('r4');
    expect(w.batches.map((b) => b.items)).toEqual([[1, 2], [3], [4]]);
  });
});
