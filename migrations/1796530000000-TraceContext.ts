import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The W3C `traceparent` of the span that caused a row, for the work done later from it
 * to join the same trace: the inbox event (the receiver's request), the outbound message
 * (the order's transition, the PSP's settlement), the PSP mock's payment (its
 * creation, which its settlement links to) and the shop's payment (its creation, which
 * its polls and reconciled events join). Null when tracing is off: nothing is written
 * (docs/decisions/1202-trace-context-per-row.md).
 */
export class TraceContext1796530000000 implements MigrationInterface {
  name = 'TraceContext1796530000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_inbox" ADD "trace_context" text`);
    await queryRunner.query(`ALTER TABLE "webhook_messages" ADD "trace_context" text`);
    await queryRunner.query(`ALTER TABLE "psp_payments" ADD "trace_context" text`);
    await queryRunner.query(`ALTER TABLE "payments" ADD "trace_context" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "payments" DROP COLUMN "trace_context"`);
    await queryRunner.query(`ALTER TABLE "psp_payments" DROP COLUMN "trace_context"`);
    await queryRunner.query(`ALTER TABLE "webhook_messages" DROP COLUMN "trace_context"`);
    await queryRunner.query(`ALTER TABLE "webhook_inbox" DROP COLUMN "trace_context"`);
  }
}
