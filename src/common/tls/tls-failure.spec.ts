import { TLS_HANDSHAKE_TIMEOUT, tlsFailureReason } from './tls-failure.js';

const failure = (code: string) => Object.assign(new Error(code), { code });

describe('tlsFailureReason', () => {
  it.each([
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unknown_ca'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'unknown_ca'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'unknown_ca'],
    ['CERT_HAS_EXPIRED', 'expired'],
    ['CERT_NOT_YET_VALID', 'not_yet_valid'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'hostname_mismatch'],
    [TLS_HANDSHAKE_TIMEOUT, 'handshake_timeout'],
  ])('names %s %s', (code, reason) => {
    expect(tlsFailureReason(failure(code))).toBe(reason);
  });

  it('finds the reason in a cause, and none in other failures', () => {
    expect(tlsFailureReason(new Error('fetch failed', { cause: failure('CERT_HAS_EXPIRED') }))).toBe('expired');
    expect(tlsFailureReason(failure('ECONNREFUSED'))).toBeNull();
    expect(tlsFailureReason(undefined)).toBeNull();
  });
});
