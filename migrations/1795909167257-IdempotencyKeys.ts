import { MigrationInterface, QueryRunner } from "typeorm";

export class IdempotencyKeys1795909167257 implements MigrationInterface {
    name = 'IdempotencyKeys1795909167257'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            DROP INDEX "public"."uq_psp_payments_idempotency_key"
        `);
        await queryRunner.query(`
            CREATE TABLE "idempotency_keys" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "scope" text NOT NULL,
                "key" text NOT NULL,
                "request_hash" text NOT NULL,
                "method" text NOT NULL,
                "path" text NOT NULL,
                "status" text NOT NULL,
                "response_status" integer,
                "response_body" text,
                "response_content_type" text,
                "response_headers" jsonb,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "locked_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "completed_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_8ad20779ad0411107a56e53d0f6" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_idempotency_keys_created" ON "idempotency_keys" ("created_at")
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "uq_idempotency_keys_scope_key" ON "idempotency_keys" ("scope", "key")
        `);
        await queryRunner.query(`
            ALTER TABLE "psp_payments" DROP COLUMN "idempotency_key"
        `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            ALTER TABLE "psp_payments"
            ADD "idempotency_key" text
        `);
        await queryRunner.query(`
            DROP INDEX "public"."uq_idempotency_keys_scope_key"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_idempotency_keys_created"
        `);
        await queryRunner.query(`
            DROP TABLE "idempotency_keys"
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "uq_psp_payments_idempotency_key" ON "psp_payments" USING btree ("idempotency_key")
            WHERE (idempotency_key IS NOT NULL)
        `);
    }

}
