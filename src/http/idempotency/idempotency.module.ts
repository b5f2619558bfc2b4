import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HttpMetricsModule } from '../http-metrics.module.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyPurgeTask } from './idempotency-purge.task.js';
import { IdempotencyService } from './idempotency.service.js';

/** Idempotency-Key support for any module's POST routes (`@Idempotent()`). */
@Module({})
export class IdempotencyModule {
  static register(opts: { purge: boolean }): DynamicModule {
    return {
      module: IdempotencyModule,
      global: true,
      imports: [TypeOrmModule.forFeature([IdempotencyKey]), HttpMetricsModule],
      providers: [IdempotencyService, IdempotencyInterceptor, ...(opts.purge ? [IdempotencyPurgeTask] : [])],
      exports: [IdempotencyService, IdempotencyInterceptor, HttpMetricsModule],
    };
  }
}
