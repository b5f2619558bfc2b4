import { randomBytes } from 'node:crypto';

/** Stripe-style opaque ids: a type prefix and 24 hex characters (96 random bits). */
export const prefixedId = (prefix: 'pay' | 'evt'): string => `${prefix}_${randomBytes(12).toString('hex')}`;

/** The shape prefixedId makes, as a pattern for validation. */
export const prefixedIdPattern = (prefix: 'pay' | 'evt'): RegExp => new RegExp(`^${prefix}_[0-9a-f]{24}$`);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checked before a lookup, so a malformed id is a clean 404 rather than a PostgreSQL cast error. */
export const isUuid = (value: string): boolean => UUID.test(value);
