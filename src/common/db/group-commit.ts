/**
 * Group commit: callers submit one item each and get their own result, but items
 * submitted while earlier writes are still in flight are written together, by one
 * `write` call (one statement, one commit). Nothing waits on a timer: a lone item is
 * written at the end of the current event-loop turn, and a batch grows only while
 * the database is busy with the previous ones — so batching costs no latency at low
 * load and saves a round trip and a commit per item at high load. With `fullBatchInFlight`,
 * writes beyond `maxInFlight` (up to that many) start only for a full batch: at a moderate
 * rate items wait for one of the first writes and share it, while a backlog gets the extra
 * writes running at once.
 */
export interface GroupCommitOptions<T> {
  /** A batch's bound besides its count: `weigh` gives an item's weight (bytes, say), and a batch stops before it would pass `max` (an item heavier than `max` is written alone). */
  size?: { weigh: (item: T) => number; max: number };
  /** Most writes running at once when `maxBatch` items are waiting (≥ maxInFlight). */
  fullBatchInFlight?: number;
  /**
   * When a batch of several items fails with an error this accepts (one row the database
   * refuses, say, rather than the database being down), each item is written again alone,
   * one after the other, so only the item at fault fails and the others get their results.
   */
  retryAlone?: (err: unknown) => boolean;
}

export class GroupCommit<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  /**
   * @param write writes a batch; resolves with one result per item, in order, or rejects
   *   (every item of the batch then rejects with that error).
   * @param maxBatch most items in one write.
   * @param maxInFlight most writes running at once; more items wait and join one batch
   *   (unless a full batch is waiting and `options.fullBatchInFlight` allows another write).
   */
  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
    options: GroupCommitOptions<T> = {},
  ) {
    this.size = options.size;
    this.fullBatchInFlight = options.fullBatchInFlight ?? maxInFlight;
    this.retryAlone = options.retryAlone;
    if (maxBatch < 1 || maxInFlight < 1 || this.fullBatchInFlight < maxInFlight) {
      throw new Error('GroupCommit needs maxBatch ≥ 1, maxInFlight ≥ 1 and fullBatchInFlight ≥ maxInFlight');
    }
  }

  private readonly size?: { weigh: (item: T) => number; max: number };
  private readonly fullBatchInFlight: number;
  private readonly retryAlone?: (err: unknown) => boolean;

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a write (not yet in one). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Whether another write may start now. */
  private canStart(): boolean {
    if (this.pending.length === 0) return false;
    if (this.inFlight < this.maxInFlight) return true;
    return this.inFlight < this.fullBatchInFlight && this.pending.length >= this.maxBatch;
  }

  private schedule(): void {
    if (this.scheduled || !this.canStart()) return;
    this.scheduled = true;
    // The end of this turn: requests whose bytes arrived together share the write.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.canStart()) {
      const batch = this.pending.splice(0, this.batchLength());
      this.inFlight++;
      void this.run(batch);
    }
  }

  /** How many of the waiting items the next batch takes: at most maxBatch, and within the size bound (at least one). */
  private batchLength(): number {
    const n = Math.min(this.maxBatch, this.pending.length);
    if (!this.size) return n;
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += this.size.weigh(this.pending[i].item);
      if (total > this.size.max) return Math.max(1, i);
    }
    return n;
  }

  private async run(batch: typeof this.pending): Promise<void> {
    try {
      const results = await this.writeChecked(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]));
    } catch (err) {
      if (batch.length > 1 && this.retryAlone?.(err)) {
        // Still within this write's slot: the retries do not add to the writes in flight.
        for (const b of batch) {
          await this.writeChecked([b.item]).then(([r]) => b.resolve(r), b.reject);
        }
      } else {
        for (const b of batch) b.reject(err);
      }
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async writeChecked(items: T[]): Promise<R[]> {
    const results = await this.write(items);
    if (results.length !== items.length) {
      throw new Error(`GroupCommit: ${results.length} results for ${items.length} items`);
    }
    return results;
  }
}
