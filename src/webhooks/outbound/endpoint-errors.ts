import type { SealingError } from '../../common/crypto/secret-sealer.js';
import { DomainError } from '../../common/errors/domain-error.js';
import type { WebhookEndpoint } from './outbound.entities.js';

// The problems the endpoints API answers (problem+json, stable codes).

export const endpointNotFound = (id: string) =>
  new DomainError(
    'WEBHOOK_ENDPOINT.NOT_FOUND',
    404,
    'Webhook endpoint not found',
    `No webhook endpoint with id ${id}.`,
  );
export const deliveryNotFound = (id: string) =>
  new DomainError(
    'WEBHOOK_DELIVERY.NOT_FOUND',
    404,
    'Webhook delivery not found',
    `No webhook delivery with id ${id}.`,
  );
export const callbackFixed = () =>
  new DomainError(
    'WEBHOOK_ENDPOINT.CALLBACK_FIXED',
    409,
    'Callback endpoint',
    'A callback endpoint is signed with the sender account secret; rotate that instead.',
  );
/** The row's sealed secret does not open with SEALING_KEYS (the SealingError's code says why; no value). */
export const secretUnreadable = (id: string, err: SealingError) =>
  new DomainError(
    'WEBHOOK_ENDPOINT.SECRET_UNREADABLE',
    500,
    'Signing secret cannot be opened',
    `The stored signing secret of endpoint ${id} does not open with SEALING_KEYS (${err.code}); rotate-secret gives it a new one.`,
  );
export const endpointDisabled = (e: WebhookEndpoint) =>
  new DomainError(
    'WEBHOOK_ENDPOINT.DISABLED',
    409,
    'Webhook endpoint is disabled',
    `Endpoint ${e.id} is disabled (${e.disabledReason ?? 'no reason'}); PATCH it with status enabled first.`,
  );

export const callbackKeepsUrl = () =>
  new DomainError('WEBHOOK_ENDPOINT.CALLBACK_FIXED', 409, 'Callback endpoint', 'A callback endpoint keeps its URL.');

/** A subscription names a type the catalog does not hold (a typo such as order.payed would never receive anything). */
export const unknownEventTypes = (unknown: string[], known: string[]) =>
  new DomainError(
    'WEBHOOK_ENDPOINT.UNKNOWN_EVENT_TYPE',
    422,
    'Unknown event type',
    `Not an event type Hookline sends: ${unknown.join(', ')}. GET /event-types lists them.`,
    { unknownTypes: unknown, knownTypes: known },
  );
