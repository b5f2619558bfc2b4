import { DomainError } from '../../common/errors/domain-error.js';
import { isUuid } from '../../common/ids.js';
import type { EventPosition } from './events.repository.js';

// The events' cursors keep created_at's microseconds, unlike the millisecond keyset cursors of
// the other lists: events are read in that exact order, and two in one millisecond must not swap.
const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

export const encodeEventCursor = (p: EventPosition): string => Buffer.from(`e1|${p.at}|${p.id}`).toString('base64url');

/** The position a cursor holds; one this API did not hand out is 400 EVENT.INVALID_CURSOR. */
export function decodeEventCursor(cursor: string): EventPosition {
  const [version, at, id, ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (
    version !== 'e1' ||
    !at ||
    !id ||
    rest.length > 0 ||
    !AT.test(at) ||
    Number.isNaN(Date.parse(`${at}Z`)) ||
    !isUuid(id)
  ) {
    throw new DomainError(
      'EVENT.INVALID_CURSOR',
      400,
      'Invalid cursor',
      'Pass the nextCursor of a previous page unchanged.',
    );
  }
  return { at, id };
}
