// npm run secrets:reseal — seals every endpoint signing secret again under the first
// key of SEALING_KEYS (docs/security/sealed-secrets.md: add the new key first, keep the
// old one, restart, run this, remove the old key). Idempotent, batched, safe while the
// app runs. Exit code 0 when every row is under the first key, 1 otherwise.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { SecretSealer } from '../src/common/crypto/secret-sealer.js';
import { validateEnv } from '../src/config/env.js';
import { typeormOptions } from '../src/database/typeorm-options.js';
import { TypeormEndpointsRepository } from '../src/webhooks/outbound/persistence/endpoints.typeorm-repository.js';
import { resealEndpointSecrets } from '../src/webhooks/outbound/secret-reseal.js';

async function main(): Promise<number> {
  const env = validateEnv(process.env);
  const sealer = SecretSealer.fromEnv(env.SEALING_KEYS!);
  const batch = Number(/^--batch=(\d+)$/.exec(process.argv[2] ?? '')?.[1] ?? 100);
  const db = await new DataSource({ ...typeormOptions(env.DATABASE_URL), extra: { max: 2 } }).initialize();
  try {
    const r = await resealEndpointSecrets(new TypeormEndpointsRepository(db), sealer, {
      batchSize: batch,
      log: (line) => console.log(line),
    });
    console.log(
      `Resealed ${r.resealed} endpoint(s) under key "${r.keyId}"; ${r.current} now under it, ` +
        `${r.left} under another key, ${r.failed.length} could not be opened`,
    );
    if (r.left > 0) {
      console.log(
        r.failed.length > 0
          ? `Do not remove the old key yet: ${r.failed.length} row(s) did not open (ids above); rotate their secrets.`
          : 'Do not remove the old key yet: run this again (rows were locked throughout).',
      );
      return 1;
    }
    console.log(`Every sealed secret is under "${r.keyId}": the other keys can be removed from SEALING_KEYS.`);
    return 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`Reseal failed: ${err.message}`);
    process.exit(1);
  },
);
