import { createHmac, timingSafeEqual } from 'node:crypto';
import type { VerifyResult, WebhookHeaders } from './webhook-signature.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing and verification.
 * The signed content is `${id}.${timestamp}.${body}` over the exact raw bytes, the
 * key is the base64-decoded part of `whsec_<base64>`, and the header carries one or
 * more space-separated `v1,<base64 HMAC-SHA256>` entries (several during rotation).
 */
export const SIGNATURE_VERSION = 'v1';

export function secretKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  if (key.length === 0) throw new Error('Webhook secret decodes to zero bytes');
  return key;
}

export function signature(key: Buffer, id: string, timestamp: number | string, body: Buffer | string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/** The `webhook-signature` header value for `body`, signed with every secret given. */
export function signHeader(secrets: readonly string[], id: string, timestamp: number, body: Buffer | string): string {
  return secrets
    .map((s) => `${SIGNATURE_VERSION},${signature(secretKey(s), id, timestamp, body).toString('base64')}`)
    .join(' ');
}

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? undefined : v);

/**
 * Verifies `rawBody` against the headers with any of `keys` (rotation), and the
 * timestamp against `toleranceS` in both directions. Unknown signature versions
 * are ignored; comparison is constant-time on equal-length buffers.
 */
export function verify(
  headers: WebhookHeaders,
  rawBody: Buffer,
  keys: readonly Buffer[],
  toleranceS: number,
  nowMs: number = Date.now(),
): VerifyResult {
  const id = single(headers['webhook-id']);
  const ts = single(headers['webhook-timestamp']);
  const sig = single(headers['webhook-signature']);
  if (!id || !ts || !sig) {
    return {
      ok: false,
      reason: 'SIGNATURE_MISSING',
      detail: 'webhook-id, webhook-timestamp and webhook-signature are required',
    };
  }
  if (!/^\d{1,12}$/.test(ts)) {
    return {
      ok: false,
      reason: 'SIGNATURE_INVALID',
      detail: 'webhook-timestamp must be integer seconds since the epoch',
    };
  }
  const timestamp = Number(ts);
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceS) {
    return {
      ok: false,
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
      detail: `webhook-timestamp is more than ${toleranceS} s away from the receiver's clock`,
    };
  }
  const candidates: Buffer[] = [];
  for (const part of sig.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== SIGNATURE_VERSION) continue;
    candidates.push(Buffer.from(part.slice(comma + 1), 'base64'));
  }
  for (const key of keys) {
    const expected = signature(key, id, ts, rawBody);
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
        return { ok: true, id, timestamp };
      }
    }
  }
  return { ok: false, reason: 'SIGNATURE_INVALID', detail: 'no signature matched' };
}
