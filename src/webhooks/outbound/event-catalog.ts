/**
 * The catalog of the event types the shop sends to merchants' endpoints: each declared
 * once, with what it means, the JSON Schema (2020-12) of its payload and an example. It
 * is what `GET /event-types` answers, what endpoint subscriptions are checked against,
 * and what the OpenAPI document's `webhooks` section shows; the e2e suite validates every
 * payload its sinks receive against these schemas, so the catalog cannot drift from what
 * the publishers send.
 */

export type JsonSchema = Record<string, unknown>;

export interface EventTypeEntry {
  type: string;
  description: string;
  /** Operational: only endpoints that name it (or its wildcard) receive it, never "every type". */
  operational: boolean;
  schema: JsonSchema;
  example: Record<string, unknown>;
}

const UUID = { type: 'string', format: 'uuid' };
const TIME = { type: 'string', format: 'date-time' };
const EXAMPLE_TIME = '2026-12-05T09:30:00.000Z';
const EXAMPLE_ORDER = '3bfdda87-f601-459c-9d11-3227ae1f296f';
const EXAMPLE_ENDPOINT = '8c1e4f52-3a0b-4c1d-9e2f-5a6b7c8d9e0f';

/** The envelope every event shares: `event_id` (= `webhook-id`), `type`, `created_at`, `data`. */
function envelope(type: string, data: JsonSchema): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: type,
    type: 'object',
    additionalProperties: false,
    required: ['event_id', 'type', 'created_at', 'data'],
    properties: {
      event_id: {
        type: 'string',
        pattern: '^evt_[0-9a-f]{24}$',
        description: 'Unique per event; the webhook-id header. Deduplicate on it.',
      },
      type: { const: type },
      created_at: { ...TIME, description: 'When the event happened (ISO 8601 UTC)' },
      data: { type: 'object', additionalProperties: false, ...data },
    },
  };
}

function example(type: string, data: Record<string, unknown>): Record<string, unknown> {
  return { event_id: 'evt_0bf5bc508d0d946d0f038918', type, created_at: EXAMPLE_TIME, data };
}

const orderData = (status: 'paid' | 'payment_failed'): JsonSchema => ({
  required: ['order_id', 'status', 'amount', 'currency', 'paid_at'],
  properties: {
    order_id: UUID,
    status: { const: status },
    amount: { type: 'integer', minimum: 1, description: 'The order amount in minor units' },
    currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217' },
    paid_at: status === 'paid' ? TIME : { type: 'null' },
  },
});

const DELIVERY_FIELDS = ['endpoint_id', 'delivery_id', 'message_event_id', 'message_type', 'attempts'];
const deliveryProperties = (): JsonSchema => ({
  endpoint_id: UUID,
  delivery_id: UUID,
  message_event_id: { type: 'string', description: 'The event the delivery carries (its webhook-id)' },
  message_type: { type: 'string' },
  attempts: { type: 'integer', minimum: 1 },
});
const EXAMPLE_DELIVERY = {
  endpoint_id: EXAMPLE_ENDPOINT,
  delivery_id: '5d0c2b9e-7f41-4a8e-b3c6-1e2f3a4b5c6d',
  message_event_id: 'evt_55d2ec1627d96df96f8e50f0',
  message_type: 'order.paid',
};

export const EVENT_CATALOG: readonly EventTypeEntry[] = [
  {
    type: 'order.paid',
    description: 'An order was paid: its payment succeeded at the PSP. Sent once per order.',
    operational: false,
    schema: envelope('order.paid', orderData('paid')),
    example: example('order.paid', {
      order_id: EXAMPLE_ORDER,
      status: 'paid',
      amount: 2598,
      currency: 'USD',
      paid_at: EXAMPLE_TIME,
    }),
  },
  {
    type: 'order.payment_failed',
    description: 'A payment for an order failed (declined); the order can be paid again.',
    operational: false,
    schema: envelope('order.payment_failed', orderData('payment_failed')),
    example: example('order.payment_failed', {
      order_id: EXAMPLE_ORDER,
      status: 'payment_failed',
      amount: 2598,
      currency: 'USD',
      paid_at: null,
    }),
  },
  {
    type: 'endpoint.disabled',
    description:
      'An endpoint was disabled: it answered 410 Gone, failed for WEBHOOK_DISABLE_AFTER without a success, ' +
      'or was disabled through the API. Its pending deliveries failed.',
    operational: true,
    schema: envelope('endpoint.disabled', {
      required: ['endpoint_id', 'url', 'reason'],
      properties: { endpoint_id: UUID, url: { type: 'string' }, reason: { type: 'string' } },
    }),
    example: example('endpoint.disabled', {
      endpoint_id: EXAMPLE_ENDPOINT,
      url: 'https://merchant.example/webhooks',
      reason: 'answered 410 Gone',
    }),
  },
  {
    type: 'endpoint.enabled',
    description:
      'A disabled endpoint was enabled again through the API; it gets new messages (recover re-sends older ones).',
    operational: true,
    schema: envelope('endpoint.enabled', {
      required: ['endpoint_id', 'url'],
      properties: { endpoint_id: UUID, url: { type: 'string' } },
    }),
    example: example('endpoint.enabled', { endpoint_id: EXAMPLE_ENDPOINT, url: 'https://merchant.example/webhooks' }),
  },
  {
    type: 'message.attempt.exhausted',
    description:
      "A delivery gave up: every attempt of WEBHOOK_RETRY_SCHEDULE failed. The message is in GET /events and the endpoint's " +
      'undelivered events; recover or retry sends it again. Never sent about an operational message.',
    operational: true,
    schema: envelope('message.attempt.exhausted', {
      required: [...DELIVERY_FIELDS, 'last_error'],
      properties: { ...deliveryProperties(), last_error: { type: 'string' } },
    }),
    example: example('message.attempt.exhausted', { ...EXAMPLE_DELIVERY, attempts: 8, last_error: 'HTTP 503' }),
  },
  {
    type: 'message.attempt.recovered',
    description: 'A delivery succeeded after failed attempts. Never sent about an operational message.',
    operational: true,
    schema: envelope('message.attempt.recovered', {
      required: DELIVERY_FIELDS,
      properties: deliveryProperties(),
    }),
    example: example('message.attempt.recovered', { ...EXAMPLE_DELIVERY, attempts: 3 }),
  },
  {
    type: 'payment.attention_required',
    description:
      'A payment a person should look at: polling gave up (POLL_GIVE_UP_MS) without a final result from the PSP, ' +
      'or a PSP webhook about it could not be applied (an inbox row went dead).',
    operational: true,
    schema: envelope('payment.attention_required', {
      required: ['payment_id', 'reason', 'detail'],
      properties: {
        payment_id: UUID,
        order_id: { ...UUID, description: 'Absent when only the PSP event named the payment' },
        reason: { enum: ['polling_gave_up', 'webhook_dead'] },
        detail: { type: 'string' },
      },
    }),
    example: example('payment.attention_required', {
      payment_id: 'b45e42ab-c53e-4337-81c5-ec0e62b1624e',
      order_id: EXAMPLE_ORDER,
      reason: 'polling_gave_up',
      detail: 'no final result from the PSP after 12 poll(s) in 3601 s (fallback_poll); polling stopped',
    }),
  },
  {
    type: 'webhook.test',
    description: 'Sent by POST /webhook-endpoints/:id/test to that endpoint only.',
    operational: true,
    schema: envelope('webhook.test', {
      required: ['endpoint_id', 'message'],
      properties: { endpoint_id: UUID, message: { type: 'string' } },
    }),
    example: example('webhook.test', { endpoint_id: EXAMPLE_ENDPOINT, message: 'A test message from Hookline' }),
  },
];

const BY_TYPE = new Map(EVENT_CATALOG.map((e) => [e.type, e]));

export const eventType = (type: string): EventTypeEntry | undefined => BY_TYPE.get(type);

/** Types only endpoints that name them receive (never an "every type" subscription). */
export const OPERATIONAL_EVENT_TYPES: readonly string[] = EVENT_CATALOG.filter((e) => e.operational).map((e) => e.type);

/**
 * Whether a subscription entry names a type of the catalog, or is a wildcard (`order.*`)
 * covering at least one.
 */
export function isKnownSubscription(entry: string): boolean {
  if (!entry.endsWith('.*')) return BY_TYPE.has(entry);
  const prefix = entry.slice(0, -1);
  return EVENT_CATALOG.some((e) => e.type.startsWith(prefix));
}

/** What an endpoint may subscribe to: every type, and the wildcards of their prefixes. */
export function knownSubscriptions(): string[] {
  const wildcards = new Set<string>();
  for (const { type } of EVENT_CATALOG) {
    const parts = type.split('.');
    for (let i = 1; i < parts.length; i++) wildcards.add(`${parts.slice(0, i).join('.')}.*`);
  }
  return [...EVENT_CATALOG.map((e) => e.type), ...wildcards];
}
