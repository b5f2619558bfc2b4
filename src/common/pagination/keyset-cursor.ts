import { DomainError } from '../errors/domain-error.js';
import { isUuid } from '../ids.js';

/**
 * Keyset pagination cursors over (created_at, id): opaque base64url text that a client
 * passes back unchanged. Millisecond precision, as JavaScript dates have it — compare
 * against `date_trunc('milliseconds', created_at)` where the column keeps microseconds.
 */
export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

/** [created_at ISO text, id]; a cursor this API did not hand out is a 400 with `code`. */
export function decodeCursor(cursor: string, code: string): [string, string] {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (
    !at ||
    !id ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(at) ||
    Number.isNaN(Date.parse(at)) ||
    !isUuid(id)
  ) {
    throw new DomainError(code, 400, 'Invalid cursor', 'Pass the nextCursor of a previous page unchanged.');
  }
  return [at, id];
}
