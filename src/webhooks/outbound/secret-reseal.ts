import { SealingError, type SecretSealer } from '../../common/crypto/secret-sealer.js';
import type { EndpointsRepository, SealedEndpoint } from './endpoints.repository.js';
import { openColumns, sealColumns } from './signing-secrets.js';

export interface ResealReport {
  /** The key every row is sealed under afterwards (the first of SEALING_KEYS). */
  keyId: string;
  /** Rows sealed again by this run. */
  resealed: number;
  /** Rows already under the first key when the run ended (resealed ones included). */
  current: number;
  /** Rows whose secrets did not open (their ids; never a value). */
  failed: string[];
  /** Rows still under another key (locked by the app through every pass, or failed). */
  left: number;
}

/**
 * Seals every endpoint's secrets again under the first key of `sealer` (npm run
 * secrets:reseal). Idempotent: rows already under that key are left alone. Batched, one
 * transaction a batch, rows taken FOR UPDATE SKIP LOCKED so the running app's rotations
 * and deliveries never wait on it; a row skipped while locked is taken in the next
 * pass (at most `passes`). The app opens resealed rows as soon as they commit, provided
 * every instance has both keys in SEALING_KEYS.
 */
export async function resealEndpointSecrets(
  endpoints: EndpointsRepository,
  sealer: SecretSealer,
  { batchSize = 100, passes = 5, log = (_line: string): void => undefined } = {},
): Promise<ResealReport> {
  const keyId = sealer.currentKeyId;
  const failed = new Set<string>();
  let resealed = 0;
  for (let pass = 1; pass <= passes; pass++) {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const batch = await endpoints.transaction(async (manager) => {
        const rows = await endpoints.lockSealedUnderOtherKeys(manager, keyId, after, batchSize);
        const sealed: SealedEndpoint[] = [];
        for (const row of rows) {
          if (failed.has(row.id)) continue;
          try {
            sealed.push({ id: row.id, ...sealColumns(sealer, row.id, openColumns(sealer, row)) });
          } catch (err) {
            if (!(err instanceof SealingError)) throw err;
            failed.add(row.id);
            log(`endpoint ${row.id}: ${err.message}`);
          }
        }
        await endpoints.storeSealed(manager, sealed);
        return { taken: rows.length, sealed: sealed.length, last: rows[rows.length - 1]?.id };
      });
      if (batch.taken === 0) break;
      resealed += batch.sealed;
      after = batch.last!;
      log(`pass ${pass}: resealed ${batch.sealed} of ${batch.taken} endpoint(s) taken (${resealed} so far)`);
    }
    const { left } = await endpoints.countSealedUnder(keyId);
    if (left - failed.size <= 0) break;
    log(`pass ${pass}: ${left - failed.size} endpoint(s) were locked; trying again`);
    await new Promise((r) => setTimeout(r, 200 * pass));
  }
  const { current, left } = await endpoints.countSealedUnder(keyId);
  return { keyId, resealed, current, failed: [...failed], left };
}
