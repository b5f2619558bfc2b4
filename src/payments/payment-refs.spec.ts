import { PAYMENT_REFS, paymentRefSql, paymentRefsOf, textAt } from './payment-refs.js';

describe('payment refs: where an event names its payment', () => {
  const psp = { type: 'payment.succeeded', data: { payment_id: 'pay_1', metadata: { paymentId: 'shop-1' } } };
  const stripe = {
    type: 'payment_intent.succeeded',
    data: { object: { object: 'payment_intent', id: 'pi_1', metadata: { paymentId: 'shop-2' } } },
  };

  it('reads each source at its own paths', () => {
    expect(paymentRefsOf('psp', psp)).toEqual({ paymentId: 'shop-1', pspPaymentId: 'pay_1' });
    expect(paymentRefsOf('stripe', stripe)).toEqual({ paymentId: 'shop-2', pspPaymentId: 'pi_1' });
    // Another source's shape names nothing.
    expect(paymentRefsOf('psp', stripe)).toEqual({ paymentId: undefined, pspPaymentId: undefined });
  });

  it('answers only strings, and survives any shape on the way', () => {
    expect(textAt({ a: { b: 7 } }, ['a', 'b'])).toBeUndefined();
    expect(textAt({ a: ['x'] }, ['a', '0'])).toBeUndefined();
    expect(textAt({ a: null }, ['a', 'b'])).toBeUndefined();
    expect(textAt('text', ['a'])).toBeUndefined();
    expect(textAt({ a: { b: 'x' } }, ['a', 'b'])).toBe('x');
  });

  it('writes the same paths into the lock statement, one WHEN a source', () => {
    expect(paymentRefSql('paymentId', 'e')).toBe(
      "CASE e.source WHEN 'psp' THEN e.payload #>> '{data,metadata,paymentId}' " +
        "WHEN 'stripe' THEN e.payload #>> '{data,object,metadata,paymentId}' END",
    );
    for (const [source, paths] of Object.entries(PAYMENT_REFS)) {
      expect(paymentRefSql('pspPaymentId', 'x')).toContain(
        `WHEN '${source}' THEN x.payload #>> '{${paths.pspPaymentId.join(',')}}'`,
      );
    }
  });
});
