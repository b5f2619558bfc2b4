/**
 * The largest values Hookline can store and honour, shared by the configuration's
 * validation and the code that uses the values. Why each bound has its value:
 * docs/decisions/0401-bounded-configuration.md.
 */
export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** PostgreSQL's int4: attempt numbers, waits in ms, durations in ms on record. */
export const MAX_INT4 = 2 ** 31 - 1;

/**
 * Node's timers (setTimeout, setInterval, undici's timeouts) take at most this many ms:
 * a longer delay is set to 1 ms, so the timer fires at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest wait between two delivery attempts: a step of WEBHOOK_RETRY_SCHEDULE, a PSP mock backoff step. */
export const MAX_RETRY_STEP_MS = 7 * DAY_MS;

/** Most waits WEBHOOK_RETRY_SCHEDULE may list (attempts = steps + 1). */
export const MAX_RETRY_STEPS = 100;

/**
 * The longest wait the outbound engine ever schedules: a step with jitter, or a
 * receiver's Retry-After honoured up to twice its step. Written as int4 ms with the
 * delivery and used as a Bull delay.
 */
export const MAX_DELIVERY_WAIT_MS = 2 * MAX_RETRY_STEP_MS;

if (MAX_DELIVERY_WAIT_MS > MAX_INT4) throw new Error('MAX_DELIVERY_WAIT_MS must fit an int4');
