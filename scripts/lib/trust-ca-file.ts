import { Agent, setGlobalDispatcher } from 'undici';
import { trustedCas } from '../../src/common/tls/trusted-cas.js';

/**
 * HOOKLINE_CA_FILE: a PEM file of extra CAs that Node's global fetch trusts besides its own
 * store, for an https:// HOOKLINE_URL whose certificate a local CA signed (the compose
 * gateway's, docs/deploying-behind-tls.md). Verification itself never turns off.
 */
export function trustCaFile(caFile = process.env.HOOKLINE_CA_FILE): void {
  if (!caFile) return;
  const ca = trustedCas(caFile);
  setGlobalDispatcher(new Agent({ connect: { ca } }));
}
