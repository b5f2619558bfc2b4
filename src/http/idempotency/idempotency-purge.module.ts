import { Module } from '@nestjs/common';
import { IdempotencyPurgeTask } from './idempotency-purge.task.js';
import { IdempotencyModule } from './idempotency.module.js';

/** The housekeeping that deletes expired Idempotency-Keys: on the roles that run housekeeping. */
@Module({ imports: [IdempotencyModule], providers: [IdempotencyPurgeTask] })
export class IdempotencyPurgeModule {}
