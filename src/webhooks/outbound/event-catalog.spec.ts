import { EVENT_CATALOG, OPERATIONAL_EVENT_TYPES, isKnownSubscription, knownSubscriptions } from './event-catalog.js';
import { decodeEventCursor, encodeEventCursor } from './events-cursor.js';

describe('event catalog', () => {
  it('declares each type once, its schema titled and its example of that type', () => {
    const types = EVENT_CATALOG.map((e) => e.type);
    expect(new Set(types).size).toBe(types.length);
    for (const e of EVENT_CATALOG) {
      expect(e.schema).toMatchObject({ title: e.type, properties: { type: { const: e.type } } });
      expect(e.example).toMatchObject({ type: e.type });
      expect(e.description.length).toBeGreaterThan(10);
    }
  });

  it('knows catalog types and wildcards covering one, not typos or empty wildcards', () => {
    expect(isKnownSubscription('order.paid')).toBe(true);
    expect(isKnownSubscription('order.*')).toBe(true);
    expect(isKnownSubscription('endpoint.*')).toBe(true);
    expect(isKnownSubscription('order.payed')).toBe(false);
    expect(isKnownSubscription('refund.*')).toBe(false);
    expect(knownSubscriptions()).toEqual(expect.arrayContaining(['order.paid', 'order.*', 'endpoint.disabled']));
  });

  it('keeps the operational types out of every-type subscriptions', () => {
    expect(OPERATIONAL_EVENT_TYPES).toEqual(expect.arrayContaining(['endpoint.disabled', 'webhook.test']));
    expect(OPERATIONAL_EVENT_TYPES).not.toContain('order.paid');
  });
});

describe('event cursors', () => {
  const position = { at: '2026-12-05T09:30:00.123456', id: '3bfdda87-f601-459c-9d11-3227ae1f296f' };

  it('round-trips a position with its microseconds', () => {
    expect(decodeEventCursor(encodeEventCursor(position))).toEqual(position);
  });

  it('refuses a cursor it did not hand out with EVENT.INVALID_CURSOR', () => {
    const forged = [
      'nope',
      Buffer.from(`e1|2026-12-05T09:30:00.123|${position.id}`).toString('base64url'),
      Buffer.from(`e2|${position.at}|${position.id}`).toString('base64url'),
      Buffer.from(`e1|${position.at}|not-a-uuid`).toString('base64url'),
    ];
    for (const cursor of forged)
      expect(() => decodeEventCursor(cursor)).toThrow(
        expect.objectContaining({ code: 'EVENT.INVALID_CURSOR', status: 400 }),
      );
  });
});
