import type { PoolClient, QueryResultRow } from 'pg';
import { type EntityManager, QueryFailedError } from 'typeorm';

/**
 * Runs `text` as the named prepared statement `name` of the connection: PostgreSQL parses
 * and plans it once per connection instead of on every call. For the statements of the
 * hot paths — the receiver's INSERT, the inbox's applying transaction (4 statements
 * whatever its size), the outbound engine's load and record of a batch of deliveries —
 * where small batches paid the planning per handful of events
 * (docs/decisions/0012-prepared-statements.md). One name per text:
 * pg refuses a name prepared with another text on the same connection.
 *
 * Uses the connection `manager` holds (inside a transaction), or takes one from the pool
 * for the call. Returns the rows (none for a statement without RETURNING); errors are
 * TypeORM's QueryFailedError, as from manager.query().
 */
export async function preparedQuery<T extends QueryResultRow = QueryResultRow>(
  manager: EntityManager,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  const borrowed = !manager.queryRunner;
  try {
    const client = (await runner.connect()) as PoolClient;
    try {
      return (await client.query<T>({ name, text, values })).rows;
    } catch (err) {
      throw new QueryFailedError(text, values, err as Error);
    }
  } finally {
    if (borrowed) await runner.release();
  }
}
