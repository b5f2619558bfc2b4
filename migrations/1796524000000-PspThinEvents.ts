import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The PSP mock's payments say how their events describe them: `snapshot` (the payment's
 * state in the event, as before) or `thin` (ids only; the receiver fetches the state, as
 * Stripe's thin events do). Existing rows stay `snapshot`.
 */
export class PspThinEvents1796524000000 implements MigrationInterface {
  name = 'PspThinEvents1796524000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "psp_payments" ADD "event_format" text NOT NULL DEFAULT 'snapshot'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "psp_payments" DROP COLUMN "event_format"`);
  }
}
