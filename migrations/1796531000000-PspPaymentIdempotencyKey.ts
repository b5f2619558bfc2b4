import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The PSP mock keeps a create's Idempotency-Key on the payment it made, as Stripe does,
 * instead of in idempotency_keys: the payment's INSERT is the claim and the stored answer
 * (docs/decisions/0026-psp-native-idempotency.md). Existing rows have none.
 */
export class PspPaymentIdempotencyKey1796531000000 implements MigrationInterface {
  name = 'PspPaymentIdempotencyKey1796531000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "psp_payments" ADD "idempotency_scope" text`);
    await queryRunner.query(`ALTER TABLE "psp_payments" ADD "idempotency_key" text`);
    await queryRunner.query(`ALTER TABLE "psp_payments" ADD "idempotency_request_hash" text`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_psp_payments_idempotency_key" ON "psp_payments" ("idempotency_scope", "idempotency_key")
        WHERE idempotency_key IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."uq_psp_payments_idempotency_key"`);
    await queryRunner.query(`ALTER TABLE "psp_payments" DROP COLUMN "idempotency_request_hash"`);
    await queryRunner.query(`ALTER TABLE "psp_payments" DROP COLUMN "idempotency_key"`);
    await queryRunner.query(`ALTER TABLE "psp_payments" DROP COLUMN "idempotency_scope"`);
  }
}
