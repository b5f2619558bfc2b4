import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The SHA-256 of each inbound event's body as received, so that a redelivery of the
 * same event_id with a different body can be told (and logged with both hashes). Null
 * for rows stored before, and for events pulled by reconciliation (no raw body).
 */
export class InboxBodyHash1796500000000 implements MigrationInterface {
  name = 'InboxBodyHash1796500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_inbox" ADD "body_sha256" bytea`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_inbox" DROP COLUMN "body_sha256"`);
  }
}
