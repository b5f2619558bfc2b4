import { randomBytes } from 'node:crypto';
import { signHeader } from '../../src/common/crypto/standard-webhooks.js';
import { WEBHOOK_SECRET } from './test-env.js';

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/** Signs `event` the way the PSP does (Standard Webhooks), with knobs to break it. */
export function signWebhook(
  event: unknown,
  opts: { secret?: string; id?: string; timestamp?: number; body?: string } = {},
): SignedRequest {
  const body = opts.body ?? JSON.stringify(event);
  const id = opts.id ?? `msg_${randomBytes(8).toString('hex')}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signHeader([opts.secret ?? WEBHOOK_SECRET], id, timestamp, body),
    },
  };
}
