import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { ENTITIES } from './entities.js';
import { CountingClient } from './query-counter.js';

export function typeormOptions(databaseUrl: string): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    // Fail within seconds when PostgreSQL is unreachable instead of queueing requests forever.
    // CountingClient: the statements and transactions behind hookline_db_queries_total.
    extra: { max: 20, application_name: 'hookline', connectionTimeoutMillis: 5000, Client: CountingClient },
  };
}
