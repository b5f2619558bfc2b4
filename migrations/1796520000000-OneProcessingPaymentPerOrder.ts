import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * At most one payment of an order is `processing`: what starting a payment always ensured
 * under the order's lock, now also a unique index, so a payment can start in one statement
 * (its INSERT … ON CONFLICT DO NOTHING loses to a concurrent start instead of adding a second).
 */
export class OneProcessingPaymentPerOrder1796520000000 implements MigrationInterface {
  name = 'OneProcessingPaymentPerOrder1796520000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE UNIQUE INDEX "idx_payments_one_processing" ON "payments" ("order_id") WHERE status = 'processing'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_payments_one_processing"`);
  }
}
