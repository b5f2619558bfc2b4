import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HttpMetricsModule } from '../http-metrics.module.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { IdempotencyKeysRepository } from './idempotency-keys.repository.js';
import { IdempotencyOnRowInterceptor } from './idempotency-on-row.interceptor.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyService } from './idempotency.service.js';
import { TypeormIdempotencyKeysRepository } from './persistence/idempotency-keys.typeorm-repository.js';

/**
 * Idempotency-Key support for a module's POST routes (`@Idempotent()`, `@IdempotentOnRow()`):
 * a module with such a route imports this one, whose exports resolve the interceptors there.
 */
@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyKey]), HttpMetricsModule],
  providers: [
    IdempotencyService,
    IdempotencyInterceptor,
    IdempotencyOnRowInterceptor,
    { provide: IdempotencyKeysRepository, useClass: TypeormIdempotencyKeysRepository },
  ],
  exports: [IdempotencyService, IdempotencyInterceptor, IdempotencyOnRowInterceptor, HttpMetricsModule],
})
export class IdempotencyModule {}
