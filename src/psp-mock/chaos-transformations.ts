import type { BodyTransformation } from '../webhooks/outbound/outbound-hooks.js';

// What the PSP mock's chaos does to its own deliveries, through the outbound engine's hooks.

/** The body with one byte changed after signing (chaos): still JSON, signature no longer matches. */
export function tamperBody(body: string): string {
  const m = /:\s*"/.exec(body);
  const i = m ? m.index + m[0].length : -1;
  if (i < 0 || i >= body.length) return body + ' ';
  const c = body[i];
  const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return body.slice(0, i) + (swapped === c ? (c === 'x' ? 'y' : 'x') : swapped) + body.slice(i + 1);
}

/** The tampering `beforeAttempt` asks for: one body byte changed after signing. */
export const TAMPER: BodyTransformation = { apply: tamperBody, note: 'signature tampered by chaos' };

/** Why the engine sends a delivered message a second time (its log line says so). */
export const DUPLICATE = { why: 'chaos duplicate' };
