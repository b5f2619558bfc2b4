import { DataSource } from 'typeorm';
import { SealingError, type SecretSealer } from '../../common/crypto/secret-sealer.js';
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

interface Row {
  id: string;
  secret_sealed: string | null;
  previous_secret_sealed: string | null;
  sealing_key_id: string;
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
  db: DataSource,
  sealer: SecretSealer,
  { batchSize = 100, passes = 5, log = (_line: string): void => undefined } = {},
): Promise<ResealReport> {
  const keyId = sealer.currentKeyId;
  const failed = new Set<string>();
  let resealed = 0;
  for (let pass = 1; pass <= passes; pass++) {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const batch = await db.transaction(async (manager) => {
        const rows: Row[] = await manager.query(
          `SELECT id, secret_sealed, previous_secret_sealed, sealing_key_id FROM webhook_endpoints
            WHERE sealing_key_id IS NOT NULL AND sealing_key_id <> $1 AND id > $2
            ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [keyId, after, batchSize],
        );
        const sealed = [];
        for (const r of rows) {
          if (failed.has(r.id)) continue;
          const endpoint = {
            id: r.id,
            sealedSecret: r.secret_sealed,
            sealedPreviousSecret: r.previous_secret_sealed,
            sealingKeyId: r.sealing_key_id,
          };
          try {
            sealed.push({ id: r.id, ...sealColumns(sealer, r.id, openColumns(sealer, endpoint)) });
          } catch (err) {
            if (!(err instanceof SealingError)) throw err;
            failed.add(r.id);
            log(`endpoint ${r.id}: ${err.message}`);
          }
        }
        if (sealed.length > 0) {
          await manager.query(
            `UPDATE webhook_endpoints e
                SET secret_sealed = x."sealedSecret", previous_secret_sealed = x."sealedPreviousSecret",
                    sealing_key_id = x."sealingKeyId"
               FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, "sealedSecret" text, "sealedPreviousSecret" text, "sealingKeyId" text)
              WHERE e.id = x.id`,
            [JSON.stringify(sealed)],
          );
        }
        return { taken: rows.length, sealed: sealed.length, last: rows[rows.length - 1]?.id };
      });
      if (batch.taken === 0) break;
      resealed += batch.sealed;
      after = batch.last!;
      log(`pass ${pass}: resealed ${batch.sealed} of ${batch.taken} endpoint(s) taken (${resealed} so far)`);
    }
    const [{ left }] = await db.query<{ left: number }[]>(
      `SELECT count(*)::int AS left FROM webhook_endpoints WHERE sealing_key_id IS NOT NULL AND sealing_key_id <> $1`,
      [keyId],
    );
    if (left - failed.size <= 0) break;
    log(`pass ${pass}: ${left - failed.size} endpoint(s) were locked; trying again`);
    await new Promise((r) => setTimeout(r, 200 * pass));
  }
  const [{ current, left }] = await db.query<{ current: number; left: number }[]>(
    `SELECT count(*) FILTER (WHERE sealing_key_id = $1)::int AS current,
            count(*) FILTER (WHERE sealing_key_id <> $1)::int AS left
       FROM webhook_endpoints WHERE sealing_key_id IS NOT NULL`,
    [keyId],
  );
  return { keyId, resealed, current, failed: [...failed], left };
}
