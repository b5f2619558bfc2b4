import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lets the outbound retention find old messages without a scan of the table: a BRIN
 * index, since messages are written in created_at order, costs next to nothing per
 * INSERT (a B-tree would add an index entry to every message the applier publishes).
 * Replaced by a B-tree since: docs/decisions/0009-outbound-retention-btree.md.
 */
export class OutboundRetention1796381518392 implements MigrationInterface {
  name = 'OutboundRetention1796381518392';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "idx_webhook_messages_created" ON "webhook_messages" USING brin ("created_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_messages_created"`);
  }
}
