import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * At most one payment of an order is `processing`: what starting a payment always ensured
 * under the order's lock, now also a unique index, so a payment can start in one statement
 * (its INSERT … ON CONFLICT DO NOTHING loses to a concurrent start instead of adding a second).
 */
export class OneProcessingPaymentPerOrder1796520000000 implements MigrationInterface {
  name = 'OneProcessingPaymentPerOrder1796520000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Starting a payment took the order's lock, so no order should hold two; if one does (a
    // manual edit, a restore), say which instead of failing on the index with PostgreSQL's
    // bare duplicate-key error. Such payments resolve by webhook or the fallback poll:
    // migrate again once they have.
    const doubled = (await queryRunner.query(
      `SELECT order_id, count(*)::int AS n FROM payments WHERE status = 'processing'
        GROUP BY order_id HAVING count(*) > 1 ORDER BY order_id LIMIT 20`,
    )) as { order_id: string; n: number }[];
    if (doubled.length > 0) {
      throw new Error(
        `Migration ${this.name}: ${doubled.length === 20 ? 'at least 20 orders have' : `${doubled.length} order(s) have`} ` +
          `more than one processing payment (${doubled.map((d) => `${d.order_id} ×${d.n}`).join(', ')}). ` +
          'Let them resolve (webhook or fallback poll) or fail the extra ones, then migrate again.',
      );
    }
    await queryRunner.query(
      `CREATE UNIQUE INDEX "idx_payments_one_processing" ON "payments" ("order_id") WHERE status = 'processing'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_payments_one_processing"`);
  }
}
