import { Logger, type LoggerService } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { typeormOptions } from './typeorm-options.js';

/** Arbitrary constant: replicas booting together take turns at the migrations. */
const MIGRATION_LOCK = 727_274_001;

/** Runs pending migrations under a PostgreSQL advisory lock. Returns the names applied. */
export async function runMigrations(
  databaseUrl: string,
  logger: Pick<LoggerService, 'log'> = new Logger('Migrations'),
): Promise<string[]> {
  const ds = await new DataSource({ ...typeormOptions(databaseUrl), extra: { max: 1 } }).initialize();
  try {
    await ds.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    for (const m of applied) logger.log(`Applied migration ${m.name}`);
    return applied.map((m) => m.name);
  } finally {
    await ds.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await ds.destroy();
  }
}
