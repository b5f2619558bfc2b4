import { randomBytes } from 'node:crypto';

/** Stripe-style opaque ids: a type prefix and 24 hex characters (96 random bits). */
export const prefixedId = (prefix: 'pay' | 'evt'): string => `${prefix}_${randomBytes(12).toString('hex')}`;
