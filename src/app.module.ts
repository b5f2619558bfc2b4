import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams } from './logging/logging.js';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ValidationPipe } from '@nestjs/common';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter.js';
import { validateEnv, type AllConfig, type AppRole } from './config/env.js';
import { hasHttpApi, runsPsp, runsWorkers } from './config/roles.js';
import { typeormOptions } from './database/typeorm-options.js';
import { DatabaseMetrics } from './database/database-metrics.js';
import { HealthModule } from './health/health.module.js';
import { AfterCommitSubscriber } from './common/db/after-commit.js';
import { OutboundWebhooksModule } from './webhooks/outbound/outbound.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RateLimitModule } from './http/rate-limit/rate-limit.module.js';
import { IdempotencyPurgeModule } from './http/idempotency/idempotency-purge.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { PaymentsModule } from './payments/payments.module.js';
import { PspMockModule } from './psp-mock/psp-mock.module.js';
import { QueueBoardModule } from './queue/queue-board.module.js';
import { InboundWebhooksModule } from './webhooks/inbound/inbound.module.js';
import { UiModule } from './ui/ui.module.js';
import type { BootContribution } from './boot-contribution.js';
import { PSP_MOCK_BOOT } from './psp-mock/psp-mock.boot.js';
import { OUTBOUND_BOOT } from './webhooks/outbound/outbound.boot.js';

/** How long a Bull job lock lasts without renewal (renewed every half of it). Bull's default: 30 s. */
export const QUEUE_LOCK_DURATION_MS = 10_000;
/** How often each worker looks for jobs whose lock expired (stalled) and requeues them. Bull's default: 30 s. */
export const QUEUE_STALLED_INTERVAL_MS = 5_000;

/**
 * The root module for one process role. `all` runs everything; `api`, `worker` and
 * `psp` run their part (docs/architecture.md, "Process roles"). Filters and pipes are APP_* providers, so
 * the e2e app gets exactly what production gets.
 */
@Module({})
export class AppModule {
  /** What the features add to the process bootstrap.ts builds (Swagger schemes, startup lines, drain hooks). */
  static readonly contributions: readonly BootContribution[] = [PSP_MOCK_BOOT, OUTBOUND_BOOT];

  static forRole(role: AppRole): DynamicModule {
    const shop = hasHttpApi(role) || runsWorkers(role);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv, cache: true }),
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<AllConfig, true>) =>
            typeormOptions(config.get('DATABASE_URL', { infer: true })),
        }),
        BullModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<AllConfig, true>) => ({
            url: config.get('REDIS_URL', { infer: true }),
            prefix: config.get('REDIS_PREFIX', { infer: true }),
            // A worker that dies mid-job (SIGKILL, OOM, lost host) stops renewing its job
            // locks; another worker takes the job again once the lock has expired and its
            // stalled check runs: within about 15 s rather than Bull's default 60 s.
            settings: { lockDuration: QUEUE_LOCK_DURATION_MS, stalledInterval: QUEUE_STALLED_INTERVAL_MS },
          }),
        }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<AllConfig, true>) =>
            loggerParams({
              APP_ROLE: config.get('APP_ROLE', { infer: true }),
              LOG_LEVEL: config.get('LOG_LEVEL', { infer: true }),
              LOG_FORMAT: config.get('LOG_FORMAT', { infer: true }),
            }),
        }),
        ScheduleModule.forRoot(),
        HealthModule,
        MetricsModule,
        QueueBoardModule,
        RateLimitModule,
        ...(runsWorkers(role) || runsPsp(role) ? [IdempotencyPurgeModule] : []),
        ...(shop
          ? [InboundWebhooksModule.forRole(role), OrdersModule.forRole(role), PaymentsModule.forRole(role)]
          : []),
        ...(shop || runsPsp(role) ? [OutboundWebhooksModule.forRole(role)] : []),
        ...(runsPsp(role) ? [PspMockModule.forRole(role)] : []),
        ...(hasHttpApi(role) ? [UiModule.forRole(role)] : []),
      ],
      providers: [
        AfterCommitSubscriber,
        DatabaseMetrics,
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
        },
      ],
    };
  }
}
