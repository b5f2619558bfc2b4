import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter } from 'prom-client';
import type { AllConfig } from '../config/env.js';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { queryCounts } from './query-counter.js';

/** The statements and transactions this process sent PostgreSQL (counted by query-counter.ts), read at scrape time. */
@Injectable()
export class DatabaseMetrics {
  constructor(registry: MetricsRegistry, config: ConfigService<AllConfig, true>) {
    const role = config.get('APP_ROLE', { infer: true });
    for (const [name, help, read] of [
      [
        'hookline_db_queries_total',
        'Statements this process sent PostgreSQL (BEGIN and COMMIT included), by process role',
        () => queryCounts.statements,
      ],
      [
        'hookline_db_transactions_total',
        'Transactions this process ran in PostgreSQL (a statement outside BEGIN … COMMIT counts as one), by process role',
        () => queryCounts.transactions,
      ],
    ] as const) {
      new Counter({
        name,
        help,
        labelNames: ['role'],
        registers: [registry],
        collect() {
          this.reset();
          this.inc({ role }, read());
        },
      });
    }
  }
}
