import { randomBytes } from 'node:crypto';

/** Random bytes drawn at once for the ids that follow (Node's randomUUID keeps such a pool too). */
const POOL_IDS = 128;
const ID_BYTES = 12;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * Stripe-style opaque ids: a type prefix and 24 hex characters (96 random bits). The bits
 * come from a pool of the CSPRNG's bytes refilled every 128 ids: one `randomBytes(12)` per
 * id was a system call each, a cost the worker paid per event applied
 * (docs/decisions/0016-random-id-pool.md).
 */
export const prefixedId = (prefix: 'pay' | 'pi' | 'evt'): string => {
  if (offset + ID_BYTES > pool.length) {
    pool = randomBytes(ID_BYTES * POOL_IDS);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `${prefix}_${hex}`;
};

/** The shape prefixedId makes, as a pattern for validation. */
export const prefixedIdPattern = (prefix: 'pay' | 'pi' | 'evt' | '(pay|pi)'): RegExp =>
  new RegExp(`^${prefix}_[0-9a-f]{24}$`);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checked before a lookup, so a malformed id is a clean 404 rather than a PostgreSQL cast error. */
export const isUuid = (value: string): boolean => UUID.test(value);
