import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The shop's POST /orders and POST /orders/:id/payments keep a request's Idempotency-Key
 * on the order or payment they make, as the PSP mock's create does: that row's INSERT is
 * the key's claim and its stored answer (docs/decisions/0031-shop-idempotency-on-row.md).
 * The key's age is the row's created_at. Existing rows have none.
 */
export class ShopIdempotencyKeys1796532000000 implements MigrationInterface {
  name = 'ShopIdempotencyKeys1796532000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['orders', 'payments']) {
      await queryRunner.query(`ALTER TABLE "${table}" ADD "idempotency_scope" text`);
      await queryRunner.query(`ALTER TABLE "${table}" ADD "idempotency_key" text`);
      await queryRunner.query(`ALTER TABLE "${table}" ADD "idempotency_request_hash" text`);
      await queryRunner.query(
        `CREATE UNIQUE INDEX "uq_${table}_idempotency_key" ON "${table}" ("idempotency_scope", "idempotency_key")
          WHERE idempotency_key IS NOT NULL`,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['payments', 'orders']) {
      await queryRunner.query(`DROP INDEX "public"."uq_${table}_idempotency_key"`);
      await queryRunner.query(`ALTER TABLE "${table}" DROP COLUMN "idempotency_request_hash"`);
      await queryRunner.query(`ALTER TABLE "${table}" DROP COLUMN "idempotency_key"`);
      await queryRunner.query(`ALTER TABLE "${table}" DROP COLUMN "idempotency_scope"`);
    }
  }
}
