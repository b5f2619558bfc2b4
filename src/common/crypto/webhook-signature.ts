import { secretKey, signHeader, verify } from './standard-webhooks.js';
import { STRIPE_HEADER, stripeSignatureHeader, verifyStripe } from './stripe-signature.js';

/** The signature schemes Hookline speaks (PSP_SIGNATURE_SCHEME validates against this list). */
export const SIGNATURE_SCHEMES = ['standard', 'stripe'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

export type WebhookHeaders = Record<string, string | string[] | undefined>;
export type VerifyFailure = 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID' | 'TIMESTAMP_OUT_OF_TOLERANCE';
export type VerifyResult =
  { ok: true; id?: string; timestamp: number } | { ok: false; reason: VerifyFailure; detail: string };

/**
 * One way of signing webhooks, both directions: a sender signs with every active
 * secret (rotation), a receiver accepts a match with any of them.
 */
export interface WebhookSigner {
  readonly scheme: SignatureScheme;
  /** The headers that carry the signature of `body`. */
  sign(id: string, timestamp: number, body: Buffer | string): Record<string, string>;
  verify(headers: WebhookHeaders, rawBody: Buffer, nowMs?: number): VerifyResult;
}

export function webhookSigner(scheme: SignatureScheme, secrets: readonly string[], toleranceS: number): WebhookSigner {
  if (secrets.length === 0) throw new Error('A webhook signer needs at least one secret');
  if (scheme === 'stripe') {
    return {
      scheme,
      sign: (_id, timestamp, body) => ({ [STRIPE_HEADER]: stripeSignatureHeader(secrets, timestamp, body) }),
      verify: (headers, rawBody, nowMs) => verifyStripe(headers, rawBody, secrets, toleranceS, nowMs),
    };
  }
  const keys = secrets.map(secretKey);
  return {
    scheme,
    sign: (id, timestamp, body) => ({
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signHeader(secrets, id, timestamp, body),
    }),
    verify: (headers, rawBody, nowMs) => verify(headers, rawBody, keys, toleranceS, nowMs),
  };
}
