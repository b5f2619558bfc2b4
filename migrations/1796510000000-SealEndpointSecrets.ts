import { MigrationInterface, QueryRunner } from 'typeorm';
import { SecretSealer } from '../src/common/crypto/secret-sealer.js';
import { DEV_SEALING_KEYS } from '../src/config/env.js';

/** Rows sealed (or opened, going down) per UPDATE. */
const BATCH = 500;

/** SEALING_KEYS as the app reads it: required in production, the development key otherwise. */
function sealerFromEnv(): SecretSealer {
  const value = process.env.SEALING_KEYS?.trim();
  if (!value && process.env.NODE_ENV === 'production') {
    throw new Error('SEALING_KEYS: required when NODE_ENV=production (it seals the endpoint signing secrets)');
  }
  return SecretSealer.fromEnv(value || DEV_SEALING_KEYS);
}

/** The AAD context of an endpoint's sealed column: the same as the app's (signing-secrets.ts). */
const context = (id: string, column: 'secret' | 'previous_secret') => `${id}/${column}`;

interface PlainRow {
  id: string;
  secret: string | null;
  previous_secret: string | null;
}

interface SealedRow {
  id: string;
  secret_sealed: string | null;
  previous_secret_sealed: string | null;
  sealing_key_id: string;
}

/**
 * Endpoint signing secrets sealed at rest (docs/security/sealed-secrets.md): three
 * columns (the sealed current and previous secrets, the id of the key that sealed them),
 * every plaintext row sealed with the first key of SEALING_KEYS, then the plaintext
 * columns dropped and the table rewritten (CLUSTER), so the plaintext of the rows'
 * earlier versions does not stay in its pages. Old WAL and backups still hold it.
 * `down` opens every row with SEALING_KEYS and puts the plaintext back.
 */
export class SealEndpointSecrets1796510000000 implements MigrationInterface {
  name = 'SealEndpointSecrets1796510000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "webhook_endpoints"
        ADD "secret_sealed" text,
        ADD "previous_secret_sealed" text,
        ADD "sealing_key_id" text`);
    const rows = (await queryRunner.query(
      `SELECT id, secret, previous_secret FROM "webhook_endpoints"
        WHERE secret IS NOT NULL OR previous_secret IS NOT NULL ORDER BY id FOR UPDATE`,
    )) as PlainRow[];
    if (rows.length > 0) {
      const sealer = sealerFromEnv();
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch: SealedRow[] = rows.slice(i, i + BATCH).map((r) => ({
          id: r.id,
          secret_sealed: r.secret === null ? null : sealer.seal(r.secret, context(r.id, 'secret')).sealed,
          previous_secret_sealed:
            r.previous_secret === null
              ? null
              : sealer.seal(r.previous_secret, context(r.id, 'previous_secret')).sealed,
          sealing_key_id: sealer.currentKeyId,
        }));
        await queryRunner.query(
          `UPDATE "webhook_endpoints" e
              SET secret_sealed = x.secret_sealed, previous_secret_sealed = x.previous_secret_sealed,
                  sealing_key_id = x.sealing_key_id
             FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, secret_sealed text, previous_secret_sealed text, sealing_key_id text)
            WHERE e.id = x.id`,
          [JSON.stringify(batch)],
        );
      }
    }
    await queryRunner.query(`
      ALTER TABLE "webhook_endpoints"
        DROP COLUMN "secret",
        DROP COLUMN "previous_secret",
        ADD CONSTRAINT "chk_webhook_endpoints_sealing_key"
          CHECK ((secret_sealed IS NULL AND previous_secret_sealed IS NULL) OR sealing_key_id IS NOT NULL)`);
    await queryRunner.query(`CLUSTER "webhook_endpoints" USING "PK_054c4cfb95223732f5939d2d546"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_endpoints" ADD "secret" text, ADD "previous_secret" text`);
    const rows = (await queryRunner.query(
      `SELECT id, secret_sealed, previous_secret_sealed, sealing_key_id FROM "webhook_endpoints"
        WHERE sealing_key_id IS NOT NULL ORDER BY id FOR UPDATE`,
    )) as SealedRow[];
    if (rows.length > 0) {
      const sealer = sealerFromEnv();
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch: PlainRow[] = rows.slice(i, i + BATCH).map((r) => ({
          id: r.id,
          secret: r.secret_sealed === null ? null : sealer.open(r.secret_sealed, r.sealing_key_id, context(r.id, 'secret')),
          previous_secret:
            r.previous_secret_sealed === null
              ? null
              : sealer.open(r.previous_secret_sealed, r.sealing_key_id, context(r.id, 'previous_secret')),
        }));
        await queryRunner.query(
          `UPDATE "webhook_endpoints" e SET secret = x.secret, previous_secret = x.previous_secret
             FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, secret text, previous_secret text)
            WHERE e.id = x.id`,
          [JSON.stringify(batch)],
        );
      }
    }
    await queryRunner.query(`
      ALTER TABLE "webhook_endpoints"
        DROP CONSTRAINT "chk_webhook_endpoints_sealing_key",
        DROP COLUMN "secret_sealed",
        DROP COLUMN "previous_secret_sealed",
        DROP COLUMN "sealing_key_id"`);
  }
}
