/** Why a TLS connection to a server failed, as recorded on an attempt and counted in metrics. */
export type TlsFailureReason = 'unknown_ca' | 'expired' | 'not_yet_valid' | 'hostname_mismatch' | 'handshake_timeout';

/** What each reason means to an operator, in the attempt log and the UI. */
export const TLS_FAILURE_TEXT: Record<TlsFailureReason, string> = {
  unknown_ca: 'certificate signed by an unknown CA',
  expired: 'certificate expired',
  not_yet_valid: 'certificate not yet valid',
  hostname_mismatch: 'certificate does not match the hostname',
  handshake_timeout: 'TLS handshake timed out',
};

/** The code a connector gives a connection whose TCP connect succeeded but whose handshake did not finish in time. */
export const TLS_HANDSHAKE_TIMEOUT = 'TLS_HANDSHAKE_TIMEOUT';

/** OpenSSL's verification codes (as Node's errors carry them) by reason. */
const BY_CODE: Record<string, TlsFailureReason> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown_ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown_ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown_ca',
  CERT_UNTRUSTED: 'unknown_ca',
  CERT_SIGNATURE_FAILURE: 'unknown_ca',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not_yet_valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname_mismatch',
  HOSTNAME_MISMATCH: 'hostname_mismatch',
  [TLS_HANDSHAKE_TIMEOUT]: 'handshake_timeout',
};

/** The TLS reason of a failed request (its error or a cause up to four deep), or null when it is not a TLS failure. */
export function tlsFailureReason(err: unknown): TlsFailureReason | null {
  let inner = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
  for (let i = 0; i < 4 && inner; i++) {
    const reason = typeof inner.code === 'string' ? BY_CODE[inner.code] : undefined;
    if (reason) return reason;
    inner = inner.cause as typeof inner;
  }
  return null;
}
