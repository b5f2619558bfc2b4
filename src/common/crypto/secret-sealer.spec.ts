import { randomBytes } from 'node:crypto';
import { parseSealingKeys, SealingError, SecretSealer, sealingKeysProblem } from './secret-sealer.js';

const k = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const CTX = '0b6a1c3e-6f0e-4c4e-9a57-2d3c8a1f0e11/secret';

/** The value with one character of its base64url body changed at `at` (from the end when negative). */
function flip(sealed: string, at: number): string {
  const i = at < 0 ? sealed.length + at : at;
  const c = sealed[i];
  return sealed.slice(0, i) + (c === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SealingError);
    return (err as SealingError).code;
  }
  throw new Error('expected a refusal');
}

describe('SecretSealer', () => {
  const sealer = SecretSealer.fromEnv(k('k1'));

  it('opens what it sealed, and seals the same secret differently each time (random IV)', () => {
    const a = sealer.seal(SECRET, CTX);
    const b = sealer.seal(SECRET, CTX);
    expect(a.keyId).toBe('k1');
    expect(a.sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(a.sealed).not.toBe(b.sealed);
    expect(sealer.open(a.sealed, 'k1', CTX)).toBe(SECRET);
    expect(sealer.open(b.sealed, 'k1', CTX)).toBe(SECRET);
  });

  it('holds neither the secret nor its base64 part in the sealed text', () => {
    const { sealed } = sealer.seal(SECRET, CTX);
    expect(sealed).not.toContain(SECRET.slice(6));
    expect(Buffer.from(sealed.slice(3), 'base64url').toString('latin1')).not.toContain(SECRET.slice(6));
  });

  it('refuses an unknown key id, and another key under the same id', () => {
    const { sealed } = sealer.seal(SECRET, CTX);
    expect(refusal(() => sealer.open(sealed, 'k2', CTX))).toBe('SEALED_SECRET.UNKNOWN_KEY');
    const impostor = SecretSealer.fromEnv(k('k1'));
    expect(refusal(() => impostor.open(sealed, 'k1', CTX))).toBe('SEALED_SECRET.UNREADABLE');
  });

  it.each([
    ['the IV', 4],
    ['the ciphertext', 3 + 17],
    ['the tag', -2],
  ])('refuses a value whose %s was changed', (_what, at) => {
    const { sealed } = sealer.seal(SECRET, CTX);
    expect(refusal(() => sealer.open(flip(sealed, at), 'k1', CTX))).toBe('SEALED_SECRET.UNREADABLE');
  });

  it('refuses a value moved to another endpoint or column (AAD)', () => {
    const { sealed } = sealer.seal(SECRET, CTX);
    expect(refusal(() => sealer.open(sealed, 'k1', CTX.replace('0b6a', '1b6a')))).toBe('SEALED_SECRET.UNREADABLE');
    expect(refusal(() => sealer.open(sealed, 'k1', CTX.replace('/secret', '/previous_secret')))).toBe(
      'SEALED_SECRET.UNREADABLE',
    );
  });

  it.each([
    ['another version', (s: string) => s.replace(/^v1\./, 'v2.')],
    ['no version', (s: string) => s.slice(3)],
    ['truncated', (s: string) => s.slice(0, 20)],
    ['not base64url', (s: string) => `${s}!`],
    ['empty', () => ''],
  ])('refuses a malformed value (%s)', (_what, mangle) => {
    const { sealed } = sealer.seal(SECRET, CTX);
    expect(refusal(() => sealer.open(mangle(sealed), 'k1', CTX))).toBe('SEALED_SECRET.MALFORMED');
  });

  it('rotates keys: a ring with the new key first seals with it and still opens the old', () => {
    const old = k('old');
    const fresh = k('new');
    const before = SecretSealer.fromEnv(old).seal(SECRET, CTX);
    const ring = SecretSealer.fromEnv(`${fresh},${old}`);
    expect(ring.currentKeyId).toBe('new');
    expect(ring.open(before.sealed, 'old', CTX)).toBe(SECRET);
    const again = ring.seal(ring.open(before.sealed, 'old', CTX), CTX);
    expect(again.keyId).toBe('new');
    expect(ring.open(again.sealed, 'new', CTX)).toBe(SECRET);
    // Once the old key is removed, only what was sealed again opens.
    const withoutOld = SecretSealer.fromEnv(fresh);
    expect(withoutOld.open(again.sealed, 'new', CTX)).toBe(SECRET);
    expect(refusal(() => withoutOld.open(before.sealed, 'old', CTX))).toBe('SEALED_SECRET.UNKNOWN_KEY');
  });

  it('never puts the secret or a key in an error message', () => {
    const keys = k('k1');
    const s = SecretSealer.fromEnv(keys);
    const { sealed } = s.seal(SECRET, CTX);
    for (const run of [
      () => s.open(flip(sealed, -2), 'k1', CTX),
      () => SecretSealer.fromEnv(k('k1')).open(sealed, 'k1', CTX),
    ]) {
      try {
        run();
      } catch (err) {
        expect((err as Error).message).not.toContain(SECRET);
        expect((err as Error).message).not.toContain(keys.slice(3));
        expect((err as Error).message).not.toContain(sealed);
      }
    }
  });
});

describe('sealingKeysProblem', () => {
  const good = randomBytes(32).toString('base64');

  it('takes one or more <keyId>:<base64 of 32 bytes>, spaces around commas allowed', () => {
    expect(sealingKeysProblem(`k1:${good}`)).toBeNull();
    expect(sealingKeysProblem(`2026-12:${good} , old-1:${randomBytes(32).toString('base64')}`)).toBeNull();
  });

  it.each([
    ['no key id', good, /is not <keyId>:<base64 key>/],
    ['an upper-case key id', `K1:${good}`, /key id must be/],
    ['a key id too long', `${'a'.repeat(33)}:${good}`, /key id must be/],
    ['an empty key id', `:${good}`, /key id must be/],
    ['16 bytes', `k1:${randomBytes(16).toString('base64')}`, /exactly 32 bytes/],
    ['33 bytes', `k1:${randomBytes(33).toString('base64')}`, /exactly 32 bytes/],
    ['not base64', `k1:${'%'.repeat(44)}`, /not base64/],
    ['base64url', `k1:${Buffer.alloc(32, 0xfb).toString('base64url')}`, /not base64/],
    ['a duplicate id', `k1:${good},k1:${randomBytes(32).toString('base64')}`, /entries 1 and 2 have the same key id/],
    ['an empty entry', `k1:${good},`, /entry 2 of 2 is not/],
  ])('refuses %s, without repeating the value', (_what, value, problem) => {
    const answer = sealingKeysProblem(value);
    expect(answer).toMatch(problem);
    expect(answer).not.toContain(good);
    expect(() => parseSealingKeys(value)).toThrow(/^SEALING_KEYS: /);
  });
});
