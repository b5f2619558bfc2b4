import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';

type WithSystemStore = typeof tls & { getCACertificates?: (type: 'default' | 'system' | 'bundled') => string[] };

/**
 * The CAs an outbound caller verifies servers against: Node's bundled store, the system's
 * store where this Node can read it (22.15+), and the PEM file's CAs. No extra file:
 * undefined, Node's own default (which also honours NODE_EXTRA_CA_CERTS). There is
 * deliberately no way to skip verification (docs/deploying-behind-tls.md).
 */
export function trustedCas(extraCaFile: string | undefined): string[] | undefined {
  const getCACertificates = (tls as WithSystemStore).getCACertificates;
  if (extraCaFile === undefined && getCACertificates === undefined) return undefined;
  const system = getCACertificates?.('system') ?? [];
  const defaults = getCACertificates?.('default') ?? tls.rootCertificates;
  const extra = extraCaFile === undefined ? [] : [readFileSync(extraCaFile, 'utf8')];
  return [...defaults, ...system, ...extra];
}
