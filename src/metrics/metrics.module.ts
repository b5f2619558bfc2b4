import { Controller, Get, Global, Header, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { BacklogMetrics } from './backlog-metrics.js';
import { HooklineMetrics } from './hookline-metrics.js';
import { MetricsRegistry } from './metrics-registry.js';

export { MetricsRegistry };

@ApiExcludeController()
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: MetricsRegistry) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Prometheus metrics on /metrics; modules register their metrics on MetricsRegistry
 * or count on the shared HooklineMetrics.
 */
@Global()
@Module({
  providers: [MetricsRegistry, HooklineMetrics, BacklogMetrics],
  controllers: [MetricsController],
  exports: [MetricsRegistry, HooklineMetrics],
})
export class MetricsModule {}
