import { MigrationInterface, QueryRunner } from "typeorm";

export class Init1795907996601 implements MigrationInterface {
    name = 'Init1795907996601'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            CREATE TABLE "orders" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "status" text NOT NULL,
                "currency" character(3) NOT NULL,
                "amount" bigint NOT NULL,
                "items" jsonb NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "paid_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_710e2d4957aa5878dfe94e4ac2f" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_orders_created" ON "orders" ("created_at", "id")
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_orders_status_created" ON "orders" ("status", "created_at", "id")
        `);
        await queryRunner.query(`
            CREATE TABLE "payments" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "order_id" uuid NOT NULL,
                "status" text NOT NULL,
                "strategy" text NOT NULL,
                "payment_method" text NOT NULL,
                "amount" bigint NOT NULL,
                "currency" character(3) NOT NULL,
                "psp_payment_id" text,
                "resolved_via" text,
                "failure_reason" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "resolved_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_197ab7af18c93fbb0c9b28b4a59" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "idx_payments_psp_payment" ON "payments" ("psp_payment_id")
            WHERE psp_payment_id IS NOT NULL
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_payments_order" ON "payments" ("order_id")
        `);
        await queryRunner.query(`
            CREATE TABLE "payment_timeline" (
                "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
                "payment_id" uuid NOT NULL,
                "type" text NOT NULL,
                "at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "detail" jsonb NOT NULL,
                CONSTRAINT "PK_0d071244fd870c2570efccfe443" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_payment_timeline_payment" ON "payment_timeline" ("payment_id", "id")
        `);
        await queryRunner.query(`
            CREATE TABLE "psp_events" (
                "id" text NOT NULL,
                "seq" BIGSERIAL NOT NULL,
                "type" text NOT NULL,
                "payment_id" text NOT NULL,
                "payload" jsonb NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "callback_url" text,
                "delivery_status" text NOT NULL,
                "delivery_attempts" integer NOT NULL DEFAULT '0',
                "delivered_at" TIMESTAMP WITH TIME ZONE,
                "last_delivery_error" text,
                CONSTRAINT "UQ_9eac53f36401b5bb29328cb3b2c" UNIQUE ("seq"),
                CONSTRAINT "PK_9df1e73b0430fbf565c90abba41" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_psp_events_pending_delivery" ON "psp_events" ("created_at")
            WHERE delivery_status = 'pending'
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_psp_events_payment" ON "psp_events" ("payment_id")
        `);
        await queryRunner.query(`
            CREATE TABLE "psp_payments" (
                "id" text NOT NULL,
                "amount" bigint NOT NULL,
                "currency" character(3) NOT NULL,
                "status" text NOT NULL,
                "payment_method" text NOT NULL,
                "callback_url" text,
                "metadata" jsonb NOT NULL,
                "idempotency_key" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "settled_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_b7003f59c2c7dc83234abb73f40" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "uq_psp_payments_idempotency_key" ON "psp_payments" ("idempotency_key")
            WHERE idempotency_key IS NOT NULL
        `);
        await queryRunner.query(`
            CREATE TABLE "webhook_inbox" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "source" text NOT NULL,
                "event_id" text NOT NULL,
                "event_type" text NOT NULL,
                "payload" jsonb NOT NULL,
                "status" text NOT NULL DEFAULT 'received',
                "outcome" text,
                "received_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "verified_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "queued_at" TIMESTAMP WITH TIME ZONE,
                "processed_at" TIMESTAMP WITH TIME ZONE,
                "attempts" integer NOT NULL DEFAULT '0',
                "last_error" text,
                CONSTRAINT "PK_4b63b831d1a843667b74f0a5fc3" PRIMARY KEY ("id")
            )
        `);
        await queryRunner.query(`
            CREATE INDEX "idx_webhook_inbox_pending" ON "webhook_inbox" ("received_at")
            WHERE processed_at IS NULL
        `);
        await queryRunner.query(`
            CREATE UNIQUE INDEX "uq_webhook_inbox_source_event" ON "webhook_inbox" ("source", "event_id")
        `);
        await queryRunner.query(`
            ALTER TABLE "payments"
            ADD CONSTRAINT "FK_b2f7b823a21562eeca20e72b006" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
        `);
        await queryRunner.query(`
            ALTER TABLE "payment_timeline"
            ADD CONSTRAINT "FK_17f352ba3f27cf53255af4c67a7" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            ALTER TABLE "payment_timeline" DROP CONSTRAINT "FK_17f352ba3f27cf53255af4c67a7"
        `);
        await queryRunner.query(`
            ALTER TABLE "payments" DROP CONSTRAINT "FK_b2f7b823a21562eeca20e72b006"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."uq_webhook_inbox_source_event"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_webhook_inbox_pending"
        `);
        await queryRunner.query(`
            DROP TABLE "webhook_inbox"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."uq_psp_payments_idempotency_key"
        `);
        await queryRunner.query(`
            DROP TABLE "psp_payments"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_psp_events_payment"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_psp_events_pending_delivery"
        `);
        await queryRunner.query(`
            DROP TABLE "psp_events"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_payment_timeline_payment"
        `);
        await queryRunner.query(`
            DROP TABLE "payment_timeline"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_payments_order"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_payments_psp_payment"
        `);
        await queryRunner.query(`
            DROP TABLE "payments"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_orders_status_created"
        `);
        await queryRunner.query(`
            DROP INDEX "public"."idx_orders_created"
        `);
        await queryRunner.query(`
            DROP TABLE "orders"
        `);
    }

}
