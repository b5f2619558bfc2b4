import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HttpMetricsModule } from '../http-metrics.module.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyService } from './idempotency.service.js';
import { NativeIdempotency } from './native-idempotency.js';

/**
 * Idempotency-Key support for a module's POST routes (`@Idempotent()`): a module with
 * such a route imports this one, whose exports resolve the interceptor there.
 */
@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyKey]), HttpMetricsModule],
  providers: [IdempotencyService, IdempotencyInterceptor, NativeIdempotency],
  exports: [IdempotencyService, IdempotencyInterceptor, NativeIdempotency, HttpMetricsModule],
})
export class IdempotencyModule {}
