import Stripe from 'stripe';
import { stripeSignatureHeader, verifyStripe } from './stripe-signature.js';
import { webhookSigner } from './webhook-signature.js';

const SECRET = 'whsec_stripe_unit_test_secret';
const body = '{"event_id":"evt_1","type":"payment.completed","data":{}}';
const stripe = new Stripe('sk_test_unused');
const now = () => Math.floor(Date.now() / 1000);

describe('Stripe signature scheme', () => {
  it('accepts a header made by the stripe library (generateTestHeaderString)', () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET });
    expect(verifyStripe({ 'stripe-signature': header }, Buffer.from(body), [SECRET], 300)).toMatchObject({ ok: true });
  });

  it('produces headers the stripe library verifies (constructEvent)', () => {
    const header = stripeSignatureHeader([SECRET], now(), body);
    expect(stripe.webhooks.constructEvent(body, header, SECRET)).toEqual(JSON.parse(body));
  });

  it('signs with every secret during a rotation, and the library accepts either', () => {
    const old = 'whsec_the_previous_secret';
    const header = stripeSignatureHeader([old, SECRET], now(), body);
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(() => stripe.webhooks.constructEvent(body, header, SECRET)).not.toThrow();
    expect(() => stripe.webhooks.constructEvent(body, header, old)).not.toThrow();
  });

  it('uses the whole whsec_ string as the key, as Stripe does', () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET });
    const decodedKeyOnly = SECRET.slice('whsec_'.length);
    expect(verifyStripe({ 'stripe-signature': header }, Buffer.from(body), [decodedKeyOnly], 300).ok).toBe(false);
  });

  it('rejects a tampered body, the wrong secret, and a stale or future timestamp', () => {
    const ts = now();
    const header = stripeSignatureHeader([SECRET], ts, body);
    const h = { 'stripe-signature': header };
    expect(verifyStripe(h, Buffer.from(body.replace('1', '2')), [SECRET], 300)).toMatchObject({
      reason: 'SIGNATURE_INVALID',
    });
    expect(verifyStripe(h, Buffer.from(body), ['whsec_other'], 300)).toMatchObject({ reason: 'SIGNATURE_INVALID' });
    expect(verifyStripe(h, Buffer.from(body), [SECRET], 300, (ts + 301) * 1000)).toMatchObject({
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
    });
    expect(verifyStripe(h, Buffer.from(body), [SECRET], 300, (ts - 301) * 1000)).toMatchObject({
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
    });
  });

  it('ignores v0 and unknown entries and accepts any matching v1', () => {
    const ts = now();
    const good = stripeSignatureHeader([SECRET], ts, body).split(',')[1];
    const header = `t=${ts},v0=${'0'.repeat(64)},v1=${'a'.repeat(64)},${good},v9=zzz`;
    expect(verifyStripe({ 'stripe-signature': header }, Buffer.from(body), [SECRET], 300).ok).toBe(true);
    const onlyV0 = `t=${ts},v0=${good.slice(3)}`;
    expect(verifyStripe({ 'stripe-signature': onlyV0 }, Buffer.from(body), [SECRET], 300).ok).toBe(false);
  });

  it('reports a missing header and a header without timestamp', () => {
    expect(verifyStripe({}, Buffer.from(body), [SECRET], 300)).toMatchObject({ reason: 'SIGNATURE_MISSING' });
    expect(
      verifyStripe({ 'stripe-signature': `v1=${'a'.repeat(64)}` }, Buffer.from(body), [SECRET], 300),
    ).toMatchObject({
      reason: 'SIGNATURE_INVALID',
    });
  });
});

describe('webhookSigner', () => {
  it.each(['standard', 'stripe'] as const)('verifies what it signs (%s)', (scheme) => {
    const signer = webhookSigner(
      scheme,
      [SECRET.replace('whsec_stripe_unit_test_secret', 'whsec_c2lnbmVyLXJvdW5kLXRyaXA=')],
      300,
    );
    const headers = signer.sign('evt_round_trip', now(), body);
    expect(signer.verify(headers, Buffer.from(body))).toMatchObject({ ok: true });
    expect(signer.verify(headers, Buffer.from(`${body} `)).ok).toBe(false);
  });

  it('signs with Standard Webhooks headers or with Stripe-Signature', () => {
    expect(
      Object.keys(webhookSigner('standard', ['whsec_c2lnbmVyLXJvdW5kLXRyaXA='], 300).sign('m', 1, body)).sort(),
    ).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(Object.keys(webhookSigner('stripe', [SECRET], 300).sign('m', 1, body))).toEqual(['stripe-signature']);
  });
});
