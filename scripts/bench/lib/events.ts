// Signed 1 KB PSP events, built and signed before any clock starts.

import { randomBytes } from 'node:crypto';
import { signHeader } from '../../../src/common/crypto/standard-webhooks.js';
import { buildRequest } from './http-load.js';

/** Fresh for each bench run: Hookline runs with NODE_ENV=production, which refuses published secrets. */
export const BENCH_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
export const EVENT_BYTES = 1024;
const PATH = '/webhooks/psp';

export interface BenchEvent {
  eventId: string;
  pspPaymentId: string;
  body: Buffer;
}

export interface EventRefs {
  pspPaymentId: string;
  paymentId?: string;
  orderId?: string;
  amount?: number;
}

/** A `payment.completed` event padded to exactly EVENT_BYTES of JSON. */
export function eventBody(eventId: string, refs: EventRefs): Buffer {
  const event = {
    event_id: eventId,
    type: 'payment.completed',
    created_at: new Date().toISOString(),
    data: {
      payment_id: refs.pspPaymentId,
      status: 'completed',
      amount: refs.amount ?? 2598,
      currency: 'USD',
      metadata: { orderId: refs.orderId ?? 'bench', paymentId: refs.paymentId ?? 'bench', note: '' },
      description: '',
    },
  };
  const bare = Buffer.byteLength(JSON.stringify(event));
  event.data.description = 'x'.repeat(Math.max(0, EVENT_BYTES - bare));
  return Buffer.from(JSON.stringify(event));
}

/** `n` unique events (fresh event ids and PSP payment ids), not tied to any payment. */
export function uniqueEvents(n: number, tag: string): BenchEvent[] {
  const run = randomBytes(4).toString('hex');
  const out: BenchEvent[] = new Array<BenchEvent>(n);
  for (let i = 0; i < n; i++) {
    const eventId = `evt_bench_${tag}_${run}_${i}`;
    const pspPaymentId = `pay_bench_${run}_${i}`;
    out[i] = { eventId, pspPaymentId, body: eventBody(eventId, { pspPaymentId }) };
  }
  return out;
}

/** The full request bytes of each event, signed now (Standard Webhooks, BENCH_SECRET). */
export function signedRequests(url: string, events: BenchEvent[], msgTag = ''): Buffer[] {
  const timestamp = Math.floor(Date.now() / 1000);
  return events.map((e, i) => {
    const id = `msg_${msgTag}${e.eventId}_${i}`;
    return buildRequest(
      url,
      PATH,
      {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signHeader([BENCH_SECRET], id, timestamp, e.body),
      },
      e.body,
    );
  });
}
