import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbound retention's index on webhook_messages.created_at becomes a B-tree. The
 * BRIN index it replaces degrades under the retention itself: once deleted messages'
 * space is reused by new ones, each reused block range's summary spans old and new
 * times, and a summary only ever widens, so every such range stays a candidate for
 * "older than the cutoff" and the purge ends up reading the whole table every run
 * (measured: 4,472 of 8,700 blocks read and 102,849 rows rechecked to find none, after
 * half of a 200,000-row table was deleted and rewritten). A B-tree entry per message
 * cost nothing measurable in the bench's drain, which publishes one message per event.
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
