import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { HttpMetrics } from './http-metrics.js';

/** HttpMetrics, once per application: the rate limit and Idempotency-Key both count on it. */
@Module({ imports: [MetricsModule], providers: [HttpMetrics], exports: [HttpMetrics] })
export class HttpMetricsModule {}
