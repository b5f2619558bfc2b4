import { Process, Processor } from '@nestjs/bull';
import { OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bull';
import { JobName, QueueName } from '../../queue/queues.js';
import { InboxApplier, type ProcessSummary } from './inbox-applier.js';
import type { ApplyInboxJob } from './inbox-queue.js';
import { WebhookHandlerRegistry } from './webhook-handler.js';
import { WebhookSources } from './webhook-sources.js';

/**
 * How many inbox jobs (each a receiver batch of rows) one worker process takes at once;
 * those that wait together share one applying transaction (InboxApplier.process).
 */
export const INBOX_CONCURRENCY = 32;

@Processor(QueueName.WebhookInbox)
export class InboxProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly applier: InboxApplier,
    private readonly handlers: WebhookHandlerRegistry,
    private readonly sources: WebhookSources,
  ) {}

  /** A worker that could not apply some source's events must not start at all. */
  onApplicationBootstrap(): void {
    const missing = this.sources.sources.filter((s) => !this.handlers.has(s));
    if (missing.length > 0) throw new Error(`No webhook handler registered for source(s): ${missing.join(', ')}`);
  }

  @Process({ name: JobName.ApplyInboxEvent, concurrency: INBOX_CONCURRENCY })
  async apply(job: Job<ApplyInboxJob>): Promise<ProcessSummary> {
    return this.applier.process(job.data.inboxIds ?? (job.data.inboxId ? [job.data.inboxId] : []));
  }
}
