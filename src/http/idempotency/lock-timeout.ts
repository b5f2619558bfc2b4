/**
 * How long a request holding an Idempotency-Key may run before a repeat takes it over: a
 * claim (the Stripe dialect's `idempotency_keys` row) or a payment without a PSP answer
 * untouched this long belongs to a process that ended before it answered. Both
 * idempotency mechanisms share it, so a client sees one rule.
 */
export const IDEMPOTENCY_LOCK_TIMEOUT_MS = 60_000;
