import { QueryFailedError } from 'typeorm';
import { preparedQuery } from '../../src/common/db/prepared-query.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';

/** preparedQuery against the real PostgreSQL: named statements, the pool, errors. */
describe('preparedQuery', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("prepares a statement once on the transaction's connection and runs it again by name", async () => {
    await t.db.transaction(async (manager) => {
      const first = await preparedQuery<{ n: number }>(manager, 'hookline_test_add', 'SELECT $1::int + 1 AS n', [1]);
      const again = await preparedQuery<{ n: number }>(manager, 'hookline_test_add', 'SELECT $1::int + 1 AS n', [41]);
      expect([first[0].n, again[0].n]).toEqual([2, 42]);
      const statements = await manager.query<{ name: string }[]>(
        `SELECT name FROM pg_prepared_statements WHERE name = 'hookline_test_add'`,
      );
      expect(statements).toHaveLength(1);
    });
  });

  it('outside a transaction borrows a pooled connection for the call and gives it back', async () => {
    // More calls one after the other than the pool has connections (20): a connection not
    // given back would make a later call wait for one until the pool's timeout.
    for (let i = 0; i < 30; i++) {
      const [row] = await preparedQuery<{ n: number }>(t.db.manager, 'hookline_test_echo', 'SELECT $1::int AS n', [i]);
      expect(row.n).toBe(i);
    }
  });

  it("rejects as manager.query does: QueryFailedError with PostgreSQL's error", async () => {
    const failed = preparedQuery(t.db.manager, 'hookline_test_div', 'SELECT 1 / $1::int AS n', [0]);
    await expect(failed).rejects.toBeInstanceOf(QueryFailedError);
    await expect(failed).rejects.toMatchObject({ driverError: { code: '22012' } });
  });
});
