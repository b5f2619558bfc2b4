import { createHmac, timingSafeEqual } from 'node:crypto';
import type { VerifyResult, WebhookHeaders } from './webhook-signature.js';

/**
 * Stripe's webhook signature: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…]`,
 * HMAC-SHA256 over `${t}.${body}` keyed with the whole `whsec_…` string as Stripe
 * does (not its base64-decoded bytes). Entries other than v1 (e.g. v0) are ignored.
 */
export const STRIPE_HEADER = 'stripe-signature';

export function stripeSignature(secret: string, timestamp: number | string, body: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

export function stripeSignatureHeader(secrets: readonly string[], timestamp: number, body: Buffer | string): string {
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${stripeSignature(s, timestamp, body).toString('hex')}`)].join(
    ',',
  );
}

export function verifyStripe(
  headers: WebhookHeaders,
  rawBody: Buffer,
  secrets: readonly string[],
  toleranceS: number,
  nowMs: number = Date.now(),
): VerifyResult {
  const header = headers[STRIPE_HEADER];
  if (typeof header !== 'string' || header.length === 0) {
    return { ok: false, reason: 'SIGNATURE_MISSING', detail: 'Stripe-Signature header is required' };
  }
  let ts: string | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') ts = value;
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) candidates.push(Buffer.from(value, 'hex'));
  }
  if (ts === undefined || !/^\d{1,12}$/.test(ts)) {
    return { ok: false, reason: 'SIGNATURE_INVALID', detail: 'Stripe-Signature has no valid t= timestamp' };
  }
  const timestamp = Number(ts);
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceS) {
    return {
      ok: false,
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
      detail: `Stripe-Signature timestamp is more than ${toleranceS} s away from the receiver's clock`,
    };
  }
  for (const secret of secrets) {
    const expected = stripeSignature(secret, ts, rawBody);
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true, timestamp };
    }
  }
  return { ok: false, reason: 'SIGNATURE_INVALID', detail: 'no v1 signature matched' };
}
