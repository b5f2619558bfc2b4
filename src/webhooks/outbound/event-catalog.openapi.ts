import { EVENT_CATALOG, type EventTypeEntry } from './event-catalog.js';

/**
 * The event catalog as the OpenAPI 3.1 document's `webhooks` section: one POST per type,
 * what Hookline sends to a merchant's endpoint — its Standard Webhooks headers, its body
 * (the type's JSON Schema, which OpenAPI 3.1 takes as is) with an example, and what the
 * endpoint's answers mean.
 */
const HEADERS = [
  {
    name: 'webhook-id',
    description: "The event's id (event_id in the body); the same on every retry: deduplicate on it.",
    example: 'evt_0bf5bc508d0d946d0f038918',
  },
  {
    name: 'webhook-timestamp',
    description: 'Unix seconds when this attempt was signed; refuse one too far from your clock (e.g. ±5 min).',
    example: '1796463000',
  },
  {
    name: 'webhook-signature',
    description:
      'Space-separated v1,<base64 HMAC-SHA256 of "id.timestamp.body"> with the endpoint secret (whsec_…): ' +
      'two during a secret rotation. Verify with any Standard Webhooks library.',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  },
];

function operation(entry: EventTypeEntry) {
  const { $schema: _dialect, ...schema } = entry.schema;
  return {
    post: {
      operationId: entry.type,
      summary: entry.type,
      description: `${entry.description}${entry.operational ? ' Operational: sent only to endpoints that name it (or a wildcard over it).' : ''}`,
      tags: ['webhooks'],
      parameters: HEADERS.map((h) => ({
        in: 'header',
        name: h.name,
        required: true,
        description: h.description,
        schema: { type: 'string' },
        example: h.example,
      })),
      requestBody: {
        required: true,
        content: { 'application/json': { schema, example: entry.example } },
      },
      responses: {
        '2XX': { description: 'Received. Answer within WEBHOOK_ATTEMPT_TIMEOUT_MS (15 s); process afterwards.' },
        '410': { description: 'Gone: the endpoint is disabled at once (endpoint.disabled).' },
        default: {
          description:
            'Any other answer, or none in time, is a failure: retried on WEBHOOK_RETRY_SCHEDULE (Retry-After honoured on 429/503).',
        },
      },
    },
  };
}

export function catalogWebhooks(): Record<string, unknown> {
  return Object.fromEntries(EVENT_CATALOG.map((e) => [e.type, operation(e)]));
}
