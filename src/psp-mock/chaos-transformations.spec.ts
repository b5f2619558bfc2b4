import { tamperBody } from './chaos-transformations.js';

describe('tamperBody', () => {
  it('changes exactly one byte and keeps the length', () => {
    const body = JSON.stringify({ event_id: 'evt_1', type: 'payment.completed' });
    const tampered = tamperBody(body);
    expect(tampered).not.toBe(body);
    expect(tampered.length).toBe(body.length);
    expect([...body].filter((c, i) => tampered[i] !== c)).toHaveLength(1);
  });
  it('does the same on PostgreSQL jsonb text (a space after each colon)', () => {
    const body = '{"type": "payment.completed", "event_id": "evt_1"}';
    const tampered = tamperBody(body);
    expect(tampered.length).toBe(body.length);
    expect([...body].filter((c, i) => tampered[i] !== c)).toHaveLength(1);
  });
});
