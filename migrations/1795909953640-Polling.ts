import { MigrationInterface, QueryRunner } from "typeorm";

export class Polling1795909953640 implements MigrationInterface {
    name = 'Polling1795909953640'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            CREATE TABLE "reconciliation_cursors" (
                "source" text NOT NULL,
                "cursor" text,
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_da0c7bff0cd0f06588189cdd7e2" PRIMARY KEY ("source")
            )
        `);
        await queryRunner.query(`
            CREATE TABLE "psp_settings" (
                "key" text NOT NULL,
                "value" jsonb NOT NULL,
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_59ae2c94da4d1d924f480c288cb" PRIMARY KEY ("key")
            )
        `);
        await queryRunner.query(`
            ALTER TABLE "payments"
            ADD "next_poll_at" TIMESTAMP WITH TIME ZONE
        `);
        await queryRunner.query(`
            ALTER TABLE "payments"
            ADD "poll_count" integer NOT NULL DEFAULT '0'
        `);
        await queryRunner.query(`
            ALTER TABLE "payments"
            ADD "attention_reason" text
        `);
        await queryRunner.query(`
            ALTER TABLE "psp_payments"
            ADD "requests_served" integer NOT NULL DEFAULT '0'
        `);
        await queryRunner.query(`
            ALTER TABLE "webhook_inbox"
            ADD "received_via" text NOT NULL DEFAULT 'webhook'
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_payments_next_poll" ON "payments" ("next_poll_at")
            WHERE status = 'processing'
                AND next_poll_at IS NOT NULL
        `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            DROP INDEX "public"."idx_payments_next_poll"
        `);
        await queryRunner.query(`
            ALTER TABLE "webhook_inbox" DROP COLUMN "received_via"
        `);
        await queryRunner.query(`
            ALTER TABLE "psp_payments" DROP COLUMN "requests_served"
        `);
        await queryRunner.query(`
            ALTER TABLE "payments" DROP COLUMN "attention_reason"
        `);
        await queryRunner.query(`
            ALTER TABLE "payments" DROP COLUMN "poll_count"
        `);
        await queryRunner.query(`
            ALTER TABLE "payments" DROP COLUMN "next_poll_at"
        `);
        await queryRunner.query(`
            DROP TABLE "psp_settings"
        `);
        await queryRunner.query(`
            DROP TABLE "reconciliation_cursors"
        `);
    }

}
