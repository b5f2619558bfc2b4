import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { JobCounts, Queue } from 'bull';
import { Gauge } from 'prom-client';
import { withTimeout } from '../common/with-timeout.js';
import { registeredQueues } from '../queue/registered-queues.js';
import { MetricsRegistry } from './metrics-registry.js';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** A scrape must answer even when Redis does not. */
const SOURCE_TIMEOUT_MS = 2_000;

/**
 * Queue backlogs, measured when Prometheus scrapes rather than tracked in process, so
 * every replica reports the shared truth: Bull job counts of every queue this role
 * registered. A queue that fails or times out is left out of that scrape. The inbox's
 * own gauges are the inbound module's (InboxBacklogGauges).
 */
@Injectable()
export class BacklogMetrics implements OnModuleInit {
  private readonly logger = new Logger('Metrics');
  private queues: Queue[] = [];

  constructor(
    registry: MetricsRegistry,
    private readonly moduleRef: ModuleRef,
  ) {
    const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
      name: 'hookline_queue_jobs',
      help: 'Jobs in each Bull queue of this process role, by state (waiting, active, delayed, failed), read at scrape time',
      labelNames: ['queue', 'state'],
      registers: [registry],
      collect: async () => {
        const counts = await Promise.all(this.queues.map((queue) => this.jobCounts(queue)));
        queueJobs.reset();
        counts.forEach((c, i) => {
          if (!c) return;
          for (const state of JOB_STATES) queueJobs.set({ queue: this.queues[i].name, state }, c[state]);
        });
      },
    });
  }

  onModuleInit(): void {
    this.queues = registeredQueues(this.moduleRef);
  }

  private async jobCounts(queue: Queue): Promise<JobCounts | null> {
    try {
      return await withTimeout(queue.getJobCounts(), SOURCE_TIMEOUT_MS);
    } catch (err) {
      this.logger.warn(`Could not read job counts of queue ${queue.name}: ${(err as Error).message}`);
      return null;
    }
  }
}
