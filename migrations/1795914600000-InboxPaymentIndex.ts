import { MigrationInterface, QueryRunner } from 'typeorm';

/** Lets the timeline page (and operators) find a payment's inbox rows without a table scan. */
export class InboxPaymentIndex1795914600000 implements MigrationInterface {
  name = 'InboxPaymentIndex1795914600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_inbox_psp_payment" ON "webhook_inbox" ((payload -> 'data' ->> 'payment_id'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_inbox_psp_payment"`);
  }
}
