/** How often each retention runs, rows deleted per statement, and statements per run at most. */
export const RETENTION_INTERVAL_MS = 15 * 60_000;
export const RETENTION_BATCH = 1000;
export const RETENTION_MAX_BATCHES = 50;

/**
 * Runs `deleteBatch(limit)` (one DELETE of at most `limit` rows, answering how many it
 * deleted) until one deletes fewer than `limit` or `maxBatches` ran, and answers the
 * total: a retention's backlog is worked off over several runs in short statements
 * rather than one that holds its locks and writes its WAL all at once.
 */
export async function deleteInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  limit = RETENTION_BATCH,
  maxBatches = RETENTION_MAX_BATCHES,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = await deleteBatch(limit);
    total += n;
    if (n < limit) break;
  }
  return total;
}
