import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as TlsServer, SecureVersion } from 'node:tls';
import { Logger } from '@nestjs/common';

/** Nothing older: TLS 1.0 and 1.1 are deprecated (RFC 8996). */
export const MIN_TLS_VERSION: SecureVersion = 'TLSv1.2';

/** How often the certificate files' modification times are compared (fs.watchFile polls). */
export const CERT_POLL_INTERVAL_MS = 1000;

export interface CertificateFiles {
  TLS_CERT_FILE?: string;
  TLS_KEY_FILE?: string;
}

export interface ServerTlsOptions {
  cert: Buffer;
  key: Buffer;
  minVersion: SecureVersion;
}

/** Fastify's `https` options when TLS_CERT_FILE and TLS_KEY_FILE are set; undefined: plain HTTP. */
export function serverTlsOptions(files: CertificateFiles): ServerTlsOptions | undefined {
  if (files.TLS_CERT_FILE === undefined || files.TLS_KEY_FILE === undefined) return undefined;
  return {
    cert: readFileSync(files.TLS_CERT_FILE),
    key: readFileSync(files.TLS_KEY_FILE),
    minVersion: MIN_TLS_VERSION,
  };
}

/**
 * Swaps the listener's certificate when either file changes (a renewal: certbot, cert-manager,
 * a mounted secret replaced by rename) or on SIGHUP. `setSecureContext` only affects
 * handshakes from then on: open connections keep theirs, none is dropped. A pair that does not
 * load (a key written before its certificate, a half-written file) is logged and the
 * certificate in use stays until the next change (docs/decisions/0801-certificate-reload.md).
 * Returns the function that stops watching.
 */
export function watchCertificates(
  server: TlsServer,
  files: Required<CertificateFiles>,
  logger: Pick<Logger, 'log' | 'warn'> = new Logger('TLS'),
  intervalMs = CERT_POLL_INTERVAL_MS,
): () => void {
  const reload = (why: string): void => {
    try {
      const options = serverTlsOptions(files)!;
      server.setSecureContext(options);
      logger.log(`Certificate reloaded from ${files.TLS_CERT_FILE} (${why})`);
    } catch (err) {
      logger.warn(`Certificate not reloaded (${why}), the previous one stays in use: ${(err as Error).message}`);
    }
  };
  const onChange = (current: { mtimeMs: number }, previous: { mtimeMs: number }): void => {
    if (current.mtimeMs !== previous.mtimeMs && current.mtimeMs !== 0) reload('file changed');
  };
  const onSighup = (): void => reload('SIGHUP');
  for (const file of [files.TLS_CERT_FILE, files.TLS_KEY_FILE]) {
    watchFile(file, { interval: intervalMs, persistent: false }, onChange);
  }
  process.on('SIGHUP', onSighup);
  return () => {
    for (const file of [files.TLS_CERT_FILE, files.TLS_KEY_FILE]) unwatchFile(file, onChange);
    process.off('SIGHUP', onSighup);
  };
}
