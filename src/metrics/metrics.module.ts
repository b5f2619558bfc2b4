import { Controller, Get, Header, Module, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { BacklogMetrics } from './backlog-metrics.js';
import { HttpTrafficMetrics } from './http-traffic.js';
import { MetricsAccessGuard } from './metrics-access.js';
import { METRICS_CONTENT_TYPE, MetricsListener } from './metrics-listener.js';
import { MetricsRegistry } from './metrics-registry.js';

export { MetricsRegistry };

@ApiExcludeController()
@SkipThrottle()
@UseGuards(MetricsAccessGuard)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: MetricsRegistry) {}

  @Get()
  @Header('content-type', METRICS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Prometheus metrics on /metrics (on the main port, or on METRICS_PORT's own listener;
 * behind METRICS_TOKEN when set: docs/security/operational-surfaces.md). A module that counts
 * imports this one and declares its metrics in its own `<module>-metrics.ts` on MetricsRegistry.
 */
@Module({
  providers: [MetricsRegistry, BacklogMetrics, HttpTrafficMetrics, MetricsAccessGuard, MetricsListener],
  controllers: [MetricsController],
  exports: [MetricsRegistry],
})
export class MetricsModule {}
