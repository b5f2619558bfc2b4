import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dead inbox rows (status 'dead', dead_at set) leave the pending index, so the backlog
 * count (INBOX_BACKLOG_LIMIT) and the sweeper no longer meet them, and get an index of
 * their own for the admin listing (newest death first, keyset on dead_at, id).
 */
export class InboxDeadLetters1796500000001 implements MigrationInterface {
  name = 'InboxDeadLetters1796500000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_inbox" ADD "dead_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_inbox_pending"`);
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_inbox_pending" ON "webhook_inbox" ("received_at") WHERE processed_at IS NULL AND dead_at IS NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_inbox_dead" ON "webhook_inbox" ("dead_at", "id") WHERE dead_at IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_inbox_dead"`);
    await queryRunner.query(`DROP INDEX "public"."idx_webhook_inbox_pending"`);
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_inbox_pending" ON "webhook_inbox" ("received_at") WHERE processed_at IS NULL`,
    );
    await queryRunner.query(`ALTER TABLE "webhook_inbox" DROP COLUMN "dead_at"`);
  }
}
