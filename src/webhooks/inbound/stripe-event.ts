import { DomainError } from '../../common/errors/domain-error.js';
import { storableJsonProblem } from '../../common/validation/storable-json.js';
import type { InboundEventDto } from './inbound-event.dto.js';

const EVENT_ID = /^[\x21-\x7e]{1,255}$/;
const TYPE = /^[a-z][a-z0-9_.]{0,99}$/;

/**
 * Checks Stripe's event envelope (`{id, object: "event", type, data: {object}, created,
 * api_version, livemode}`) of a verified body, and names it for the inbox by Stripe's
 * event id (the unique key that makes a redelivery a duplicate). The whole body, as
 * Stripe signed it, is what gets stored.
 */
export function parseStripeEvent(body: unknown): InboundEventDto {
  const malformed = (detail: string) => new DomainError('WEBHOOK.MALFORMED_EVENT', 400, 'Malformed event', detail);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw malformed('The body must be a JSON object.');
  const unstorable = storableJsonProblem(body);
  if (unstorable) throw malformed(unstorable);
  const e = body as Record<string, unknown>;
  if (e.object !== 'event') throw malformed('object must be "event" (a Stripe event).');
  if (typeof e.id !== 'string' || !EVENT_ID.test(e.id))
    throw malformed('id must be the event id (printable ASCII, 1-255).');
  if (typeof e.type !== 'string' || !TYPE.test(e.type)) throw malformed('type must be a dotted lowercase event type.');
  const data = e.data as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null || typeof data.object !== 'object' || data.object === null) {
    throw malformed('data.object must be an object.');
  }
  if (e.created !== undefined && (typeof e.created !== 'number' || !Number.isInteger(e.created))) {
    throw malformed('created must be a Unix timestamp.');
  }
  return {
    event_id: e.id,
    type: e.type,
    ...(typeof e.created === 'number' ? { created_at: new Date(e.created * 1000).toISOString() } : {}),
    data,
  };
}
