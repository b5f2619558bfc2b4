import { Logger, type LoggerService } from '@nestjs/common';
import { Client } from 'pg';

/**
 * Creates the database named in `databaseUrl` if it does not exist yet, by
 * connecting to the server's `postgres` maintenance database. Idempotent and safe
 * against several processes racing to create it.
 */
export async function ensureDatabase(
  databaseUrl: string,
  logger: Pick<LoggerService, 'log'> = new Logger('Database'),
): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return;
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      logger.log(`Created database ${name}`);
    } catch (err) {
      // 42P04 duplicate_database / 23505: another process created it first.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    }
  } finally {
    await client.end();
  }
}
