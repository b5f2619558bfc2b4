import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbound retention's index on webhook_messages.created_at becomes a B-tree: the
 * BRIN index it replaces degrades under the retention itself, once deleted messages'
 * space is reused, until the purge reads the whole table every run
 * (docs/decisions/0009-outbound-retention-btree.md).
 */
export class OutboundRetentionBtree1796393432314 implements MigrationInterface {
  name = 'OutboundRetentionBtree1796393432314';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_messages_created"`);
    await queryRunner.query(`CREATE INDEX "idx_webhook_messages_created" ON "webhook_messages" ("created_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_messages_created"`);
    await queryRunner.query(`CREATE INDEX "idx_webhook_messages_created" ON "webhook_messages" USING brin ("created_at")`);
  }
}
