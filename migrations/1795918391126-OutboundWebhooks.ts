import { MigrationInterface, QueryRunner } from "typeorm";

export class OutboundWebhooks1795918391126 implements MigrationInterface {
    name = 'OutboundWebhooks1795918391126'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            CREATE TABLE "webhook_endpoints" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "owner" text NOT NULL,
                "kind" text NOT NULL DEFAULT 'registered',
                "url" text NOT NULL,
                "description" text NOT NULL DEFAULT '',
                "event_types" text array,
                "status" text NOT NULL DEFAULT 'enabled',
                "disabled_reason" text,
                "disabled_at" TIMESTAMP WITH TIME ZONE,
                "secret" text,
                "previous_secret" text,
                "previous_secret_expires_at" TIMESTAMP WITH TIME ZONE,
                "rate_limit_per_s" integer,
                "failing_since" TIMESTAMP WITH TIME ZONE,
                "last_success_at" TIMESTAMP WITH TIME ZONE,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_054c4cfb95223732f5939d2d546" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "uq_webhook_endpoints_callback" ON "webhook_endpoints" ("owner", "url")
            WHERE kind = 'callback'
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_webhook_endpoints_owner" ON "webhook_endpoints" ("owner", "created_at")
        `);
        await queryRunner.query(`
            CREATE TABLE "webhook_messages" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "owner" text NOT NULL,
                "event_id" text NOT NULL,
                "event_type" text NOT NULL,
                "payload" jsonb NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_526e8e1655924920adc4cd30dcd" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "uq_webhook_messages_event" ON "webhook_messages" ("owner", "event_id")
        `);
        await queryRunner.query(`
            CREATE TABLE "webhook_deliveries" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "message_id" uuid NOT NULL,
                "endpoint_id" uuid NOT NULL,
                "status" text NOT NULL DEFAULT 'pending',
                "attempts" integer NOT NULL DEFAULT '0',
                "next_attempt_at" TIMESTAMP WITH TIME ZONE,
                "last_attempt_at" TIMESTAMP WITH TIME ZONE,
                "last_status_code" integer,
                "last_error" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "succeeded_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_535dd409947fb6d8fc6dfc0112a" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_webhook_deliveries_due" ON "webhook_deliveries" ("next_attempt_at")
            WHERE status = 'pending'
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_webhook_deliveries_endpoint" ON "webhook_deliveries" ("endpoint_id", "created_at")
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "uq_webhook_deliveries_message_endpoint" ON "webhook_deliveries" ("message_id", "endpoint_id")
        `);
        await queryRunner.query(`
            CREATE TABLE "webhook_attempts" (
                "id" BIGSERIAL NOT NULL,
                "delivery_id" uuid NOT NULL,
                "number" integer NOT NULL,
                "started_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "duration_ms" integer NOT NULL,
                "status_code" integer,
                "response_excerpt" text,
                "error" text,
                "succeeded" boolean NOT NULL,
                CONSTRAINT "PK_2de7e7887ad97de459adab62638" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_webhook_attempts_delivery" ON "webhook_attempts" ("delivery_id", "started_at")
        `);
        await queryRunner.query(`
            ALTER TABLE "webhook_deliveries"
            ADD CONSTRAINT "FK_35330ff895962f7bd8a46c18177" FOREIGN KEY ("message_id") REFERENCES "webhook_messages"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
        await queryRunner.query(`
            ALTER TABLE "webhook_deliveries"
            ADD CONSTRAINT "FK_0b882c26a9b91c26e6e86b4867c" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
        await queryRunner.query(`
            ALTER TABLE "webhook_attempts"
            ADD CONSTRAINT "FK_0d56d91d61b827bb2079c256538" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            ALTER TABLE "webhook_attempts" DROP CONSTRAINT "FK_0d56d91d61b827bb2079c256538"
        `);
        await queryRunner.query(`
            ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "FK_0b882c26a9b91c26e6e86b4867c"
        `);
        await queryRunner.query(`
            ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "FK_35330ff895962f7bd8a46c18177"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_webhook_attempts_delivery"
        `);
        await queryRunner.query(`
            DROP TABLE "webhook_attempts"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."uq_webhook_deliveries_message_endpoint"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_webhook_deliveries_endpoint"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_webhook_deliveries_due"
        `);
        await queryRunner.query(`
            DROP TABLE "webhook_deliveries"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."uq_webhook_messages_event"
        `);
        await queryRunner.query(`
            DROP TABLE "webhook_messages"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_webhook_endpoints_owner"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."uq_webhook_endpoints_callback"
        `);
        await queryRunner.query(`
            DROP TABLE "webhook_endpoints"
        `);
    }

}
