import pg from 'pg';
import { CountingClient, queryCounts } from '../../src/database/query-counter.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { TEST_DATABASE_URL } from '../utils/test-env.js';

/** The statements and transactions behind hookline_db_queries_total, against the real PostgreSQL. */
describe('the database query counter', () => {
  // Before any app runs in this process: nothing else counts meanwhile, so each call's own increments are exact.
  it('counts every statement a pooled client sends, and a transaction once however many it holds', async () => {
    // A pool of its own: the app's background tasks send statements through theirs meanwhile.
    // (The maintenance database: the test database is created by the first app that boots.)
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = '/postgres';
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1, Client: CountingClient });
    const client = await pool.connect();
    try {
      const before = { ...queryCounts };
      const sent = async (fn: () => Promise<unknown>) => {
        const s = queryCounts.statements;
        const x = queryCounts.transactions;
        await fn();
        return [queryCounts.statements - s, queryCounts.transactions - x];
      };
      expect(await sent(() => client.query('SELECT 1'))).toEqual([1, 1]);
      expect(
        await sent(() => client.query({ name: 'hookline_test_counter', text: 'SELECT $1::int', values: [1] })),
      ).toEqual([1, 1]);
      expect(await sent(() => client.query('BEGIN'))).toEqual([1, 1]);
      expect(await sent(() => client.query('SELECT 2'))).toEqual([1, 0]);
      expect(await sent(() => client.query('COMMIT'))).toEqual([1, 0]);
      expect(await sent(() => client.query('SELECT 3'))).toEqual([1, 1]);
      expect(queryCounts.statements - before.statements).toBe(6);
    } finally {
      client.release();
      await pool.end();
    }
  });
});

describe('hookline_db_queries_total', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts what the app sends PostgreSQL, by role', async () => {
    const read = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const m = /^hookline_db_queries_total\{role="all"\} (\d+)$/m.exec(text);
      const x = /^hookline_db_transactions_total\{role="all"\} (\d+)$/m.exec(text);
      expect(m).not.toBeNull();
      expect(x).not.toBeNull();
      return [Number(m![1]), Number(x![1])];
    };
    const [statements, transactions] = await read();
    await t.db.query('SELECT 1');
    const [after, afterTx] = await read();
    expect(after).toBeGreaterThan(statements);
    expect(afterTx).toBeGreaterThan(transactions);
  });
});
