import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { InboundEventDto, parseInboundEvent, plainlyValid } from './inbound-event.dto.js';

const base = { event_id: 'evt_1', type: 'payment.completed', data: { payment_id: 'pay_1' } };
const dtoAccepts = (body: object) => validateSync(plainToInstance(InboundEventDto, body)).length === 0;

/** Envelopes on both sides of every rule of InboundEventDto. */
const CASES: [string, Record<string, unknown>][] = [
  ['the common envelope', base],
  ['with created_at', { ...base, created_at: '2026-11-28T12:00:00.000Z' }],
  ['created_at with an offset', { ...base, created_at: '2026-11-28T12:00:00+02:00' }],
  ['created_at a date only', { ...base, created_at: '2026-11-28' }],
  ['created_at not a date', { ...base, created_at: 'yesterday' }],
  ['created_at month 13', { ...base, created_at: '2026-13-01T00:00:00Z' }],
  ['created_at null', { ...base, created_at: null }],
  ['created_at a number', { ...base, created_at: 1764331200 }],
  ['event_id 255 characters', { ...base, event_id: 'e'.repeat(255) }],
  ['event_id 256 characters', { ...base, event_id: 'e'.repeat(256) }],
  ['event_id empty', { ...base, event_id: '' }],
  ['event_id a number', { ...base, event_id: 42 }],
  ['event_id with a space', { ...base, event_id: 'evt 1' }],
  ['event_id with a control character', { ...base, event_id: 'evt\u00011' }],
  ['event_id with a bidi override', { ...base, event_id: 'evt\u202e1' }],
  ['event_id non-ASCII', { ...base, event_id: 'évènement' }],
  ['event_id only invisible', { ...base, event_id: '\u200b' }],
  ['type with capitals', { ...base, type: 'Payment.Completed' }],
  ['type 100 characters', { ...base, type: 'p'.repeat(100) }],
  ['type 101 characters', { ...base, type: 'p'.repeat(101) }],
  ['type missing', { event_id: 'evt_1', data: {} }],
  ['data an array', { ...base, data: [] }],
  ['data null', { ...base, data: null }],
  ['data a string', { ...base, data: 'x' }],
  ['data missing', { event_id: 'evt_1', type: 'payment.completed' }],
  ['unknown fields', { ...base, livemode: false, api_version: '2026-11' }],
];

describe('InboundEventDto fast path', () => {
  it.each(CASES)('never accepts what the full validation refuses: %s', (_name, body) => {
    if (plainlyValid(body)) expect(dtoAccepts(body)).toBe(true);
  });

  it('takes the common envelopes without the full validation', () => {
    expect(plainlyValid(base)).toBe(true);
    expect(plainlyValid({ ...base, created_at: '2026-11-28T12:00:00.000Z', extra: 1 })).toBe(true);
  });

  it.each(CASES)('parseInboundEvent decides as the DTO does: %s', (_name, body) => {
    if (dtoAccepts(body)) expect(parseInboundEvent(body)).toBe(body);
    else expect(() => parseInboundEvent(body)).toThrow(expect.objectContaining({ code: 'WEBHOOK.MALFORMED_EVENT' }));
  });
});
