import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lets the inbox retention find rows processed before its cutoff through an index. It
 * is partial (processed rows only), so the receiver's INSERT of an unprocessed row adds
 * no entry to it; the processor's update, which adds one, writes new index entries for
 * the row anyway (processed_at is in the pending index's predicate, so it is never HOT).
 * See docs/decisions/0008-inbox-retention-partial-index.md.
 */
export class InboxRetention1796392633664 implements MigrationInterface {
  name = 'InboxRetention1796392633664';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_inbox_processed" ON "webhook_inbox" ("processed_at") WHERE processed_at IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_inbox_processed"`);
  }
}
