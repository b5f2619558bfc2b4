import { secretKey, signHeader, verify } from './standard-webhooks.js';

// The published test vector of the Standard Webhooks reference libraries.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const headers = (sig: string, id = VECTOR.id, ts: number | string = VECTOR.timestamp) => ({
  'webhook-id': id,
  'webhook-timestamp': String(ts),
  'webhook-signature': sig,
});
const at = (ts: number) => ts * 1000;
const key = secretKey(VECTOR.secret);

describe('Standard Webhooks signer', () => {
  it('reproduces the published sign vector', () => {
    expect(signHeader([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('signs with every secret during a rotation, space-separated', () => {
    const other = `whsec_${Buffer.from('another-secret-value').toString('base64')}`;
    const header = signHeader([VECTOR.secret, other], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    expect(header.split(' ')).toHaveLength(2);
    expect(header.split(' ')[0]).toBe(VECTOR.signature);
  });
});

describe('Standard Webhooks verify', () => {
  const body = Buffer.from(VECTOR.body);

  it('accepts the vector', () => {
    expect(verify(headers(VECTOR.signature), body, [key], 300, at(VECTOR.timestamp))).toEqual({
      ok: true,
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
    });
  });

  it('rejects a body changed by one byte', () => {
    const tampered = Buffer.from('{"test": 2432232315}');
    expect(verify(headers(VECTOR.signature), tampered, [key], 300, at(VECTOR.timestamp))).toMatchObject({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
  });

  it('verifies the raw bytes, not re-serialised JSON', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(VECTOR.body)));
    expect(reserialised.equals(body)).toBe(false);
    expect(verify(headers(VECTOR.signature), reserialised, [key], 300, at(VECTOR.timestamp)).ok).toBe(false);
  });

  it('rejects a changed id (the id is part of the signed content)', () => {
    expect(verify(headers(VECTOR.signature, 'msg_other'), body, [key], 300, at(VECTOR.timestamp)).ok).toBe(false);
  });

  it('rejects the wrong secret', () => {
    const wrong = secretKey(`whsec_${Buffer.from('not-the-right-secret').toString('base64')}`);
    expect(verify(headers(VECTOR.signature), body, [wrong], 300, at(VECTOR.timestamp))).toMatchObject({
      reason: 'SIGNATURE_INVALID',
    });
  });

  it('accepts when any active secret matches (rotation)', () => {
    const old = secretKey(`whsec_${Buffer.from('the-previous-secret').toString('base64')}`);
    expect(verify(headers(VECTOR.signature), body, [old, key], 300, at(VECTOR.timestamp)).ok).toBe(true);
  });

  it('accepts when any of several signatures matches, ignoring unknown versions', () => {
    const sig = `v1a,${VECTOR.signature.slice(3)} v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ${VECTOR.signature} v2,xyz`;
    expect(verify(headers(sig), body, [key], 300, at(VECTOR.timestamp)).ok).toBe(true);
  });

  it('does not accept a v1 signature presented under another version', () => {
    const sig = `v2,${VECTOR.signature.slice(3)}`;
    expect(verify(headers(sig), body, [key], 300, at(VECTOR.timestamp)).ok).toBe(false);
  });

  it.each([
    ['stale', VECTOR.timestamp + 301],
    ['future', VECTOR.timestamp - 301],
  ])('rejects a %s timestamp beyond the tolerance', (_label, nowS) => {
    expect(verify(headers(VECTOR.signature), body, [key], 300, at(nowS))).toMatchObject({
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
    });
  });

  it('accepts a timestamp exactly at the tolerance edge', () => {
    expect(verify(headers(VECTOR.signature), body, [key], 300, at(VECTOR.timestamp + 300)).ok).toBe(true);
    expect(verify(headers(VECTOR.signature), body, [key], 300, at(VECTOR.timestamp - 300)).ok).toBe(true);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('reports a missing %s header', (name) => {
    const h: Record<string, string> = headers(VECTOR.signature);
    delete h[name];
    expect(verify(h, body, [key], 300, at(VECTOR.timestamp))).toMatchObject({ reason: 'SIGNATURE_MISSING' });
  });

  it('rejects a non-numeric timestamp', () => {
    expect(
      verify(headers(VECTOR.signature, VECTOR.id, '1614265330.5'), body, [key], 300, at(VECTOR.timestamp)).ok,
    ).toBe(false);
  });

  it('rejects a truncated signature without throwing', () => {
    expect(verify(headers('v1,g0hM9SsE'), body, [key], 300, at(VECTOR.timestamp))).toMatchObject({
      reason: 'SIGNATURE_INVALID',
    });
  });
});
