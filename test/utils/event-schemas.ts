import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { EVENT_CATALOG } from '../../src/webhooks/outbound/event-catalog.js';

/**
 * Every webhook a test sink receives is validated against the event catalog's schema of
 * its type (ajv, JSON Schema 2020-12), so the catalog cannot drift from what is sent. A
 * violation is kept here and fails the file in its afterAll (test/setup/event-schemas.ts).
 */

/** The PSP mock's own event types (its contract, DESIGN §3), sent to the endpoints registered with it. */
const PSP_EVENT_TYPES = new Set(['payment.processing', 'payment.completed', 'payment.failed']);

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>(EVENT_CATALOG.map((e) => [e.type, ajv.compile(e.schema)]));

/**
 * The engine tests' own message types (flush.ping, limit.slot, …): published straight
 * through the outbox so that nothing else reaches their sinks, and not Hookline events.
 */
const engineTestTypes = new Set<string>();

/** Lets the engine tests' own types through the check (test/factories/endpoints.factory.ts, publishPings). */
export function allowEngineTestTypes(types: string[]): void {
  for (const type of types) engineTestTypes.add(type);
}

const violations: string[] = [];
let validated = 0;

/**
 * Checks one webhook body: a violation names the type and what is wrong. Answers null
 * for a payload that matches its type's schema, or a PSP mock event (not in the catalog).
 */
export function schemaViolation(body: string): string | null {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return `not JSON: ${body.slice(0, 80)}`;
  }
  const type = (payload as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return `no type: ${body.slice(0, 80)}`;
  const validate = validators.get(type);
  if (!validate)
    return PSP_EVENT_TYPES.has(type) || engineTestTypes.has(type) ? null : `${type}: not in the event catalog`;
  if (validate(payload)) return null;
  return `${type}: ${ajv.errorsText(validate.errors)} in ${body.slice(0, 200)}`;
}

/** Validates a request a sink received when it is a webhook (it carries webhook-id). */
export function checkWebhook(headers: Record<string, unknown>, body: string): void {
  if (headers['webhook-id'] === undefined) return;
  const violation = schemaViolation(body);
  if (violation === null) validated++;
  else violations.push(violation);
}

/** The violations seen since the last call (and forgets them), with the count of payloads that passed. */
export function takeSchemaReport(): { validated: number; violations: string[] } {
  const report = { validated, violations: violations.splice(0) };
  validated = 0;
  return report;
}
