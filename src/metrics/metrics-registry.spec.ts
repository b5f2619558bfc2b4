import perfHooks from 'node:perf_hooks';
import { EVENT_LOOP_MONITORING_PRECISION_MS, MetricsRegistry } from './metrics-registry.js';

describe('MetricsRegistry', () => {
  afterEach(() => jest.restoreAllMocks());

  it('samples the event-loop delay every EVENT_LOOP_MONITORING_PRECISION_MS, not every 10 ms', async () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    const registry = new MetricsRegistry();
    expect(monitor).toHaveBeenCalledWith({ resolution: EVENT_LOOP_MONITORING_PRECISION_MS });
    expect(EVENT_LOOP_MONITORING_PRECISION_MS).toBeGreaterThanOrEqual(100);
    expect(await registry.metrics()).toContain('hookline_process_nodejs_eventloop_lag_p99_seconds');
  });
});
