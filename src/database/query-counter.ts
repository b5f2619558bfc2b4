import pg from 'pg';

/**
 * What this process sent PostgreSQL through its pool: statements (BEGIN and COMMIT
 * included, as the server counts them) and transactions (an explicit BEGIN … COMMIT is
 * one; a statement outside one is its own). Read by `hookline_db_queries_total` and
 * `hookline_db_transactions_total`, and by the bench's checkout scenario before and after a
 * run: pg_stat_statements is not loaded everywhere, and PostgreSQL's own xact counters
 * lag by up to a second and count every client of the database.
 */
export const queryCounts = { statements: 0, transactions: 0 };

const inTransaction = new WeakSet<pg.Client>();
const BEGIN = /^\s*(BEGIN|START TRANSACTION)\b/i;
const END = /^\s*(COMMIT|ROLLBACK|END)\s*;?\s*$/i;

function count(client: pg.Client, query: unknown): void {
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
  queryCounts.statements++;
  if (typeof text !== 'string') {
    if (!inTransaction.has(client)) queryCounts.transactions++;
    return;
  }
  if (BEGIN.test(text)) {
    inTransaction.add(client);
    queryCounts.transactions++;
  } else if (END.test(text)) {
    inTransaction.delete(client);
  } else if (!inTransaction.has(client)) {
    queryCounts.transactions++;
  }
}

/** pg's Client, counting each query it sends (the pool's `Client` option: TypeORM passes `extra` through). */
export class CountingClient extends pg.Client {}

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with the client as `this` below
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(CountingClient.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
  this: pg.Client,
  ...args: unknown[]
) {
  count(this, args[0]);
  return query.apply(this, args);
};
