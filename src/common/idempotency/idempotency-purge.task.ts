import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { IdempotencyService } from './idempotency.service.js';

@Injectable()
export class IdempotencyPurgeTask {
  private readonly logger = new Logger('IdempotencyPurge');

  constructor(private readonly idempotency: IdempotencyService) {}

  /** A plain DELETE by age: harmless when several replicas run it at once. */
  @Interval('idempotency-purge', 15 * 60_000)
  async run(): Promise<void> {
    try {
      await this.idempotency.purgeExpired();
    } catch (err) {
      this.logger.error(`Idempotency purge failed: ${(err as Error).message}`);
    }
  }
}
