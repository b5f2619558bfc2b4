// One-shot: creates the database if missing, runs pending migrations, exits.
// Used by the compose stack's `migrate` service before any replica starts.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { validateEnv } from './config/env.js';
import { ensureDatabase } from './database/ensure-database.js';
import { runMigrations } from './database/migrate.js';

async function main(): Promise<void> {
  const env = validateEnv(process.env);
  await ensureDatabase(env.DATABASE_URL);
  const applied = await runMigrations(env.DATABASE_URL);
  new Logger('Migrations').log(applied.length ? `Applied ${applied.length} migration(s)` : 'Schema is up to date');
}

main().catch((err: Error) => {
  console.error(`Migration failed: ${err.message}`);
  process.exit(1);
});
