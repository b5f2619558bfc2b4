import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AllConfig } from '../config/env.js';
import { ReconciliationService } from './reconciliation.service.js';

/** Runs reconciliation every RECONCILE_INTERVAL_MS (configured, so registered with SchedulerRegistry, not a static @Interval). */
@Injectable()
export class ReconciliationTask implements OnApplicationBootstrap {
  private readonly logger = new Logger('ReconciliationTask');
  private running = false;
  private readonly intervalMs: number;

  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AllConfig, true>,
  ) {
    this.intervalMs = config.get('RECONCILE_INTERVAL_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    // The schedule module clears registered intervals on shutdown.
    this.scheduler.addInterval(
      'reconciliation',
      setInterval(() => void this.tick(), this.intervalMs),
    );
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.reconciliation.run();
    } catch (err) {
      this.logger.error(`Reconciliation failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
