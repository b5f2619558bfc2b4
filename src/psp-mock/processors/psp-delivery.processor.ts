import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { JobName, QueueName } from '../../queue/queues.js';
import { PspWebhookSender, type DeliverJob, type DeliveryResult } from '../psp-webhook.sender.js';

@Processor(QueueName.PspDelivery)
export class PspDeliveryProcessor {
  constructor(private readonly sender: PspWebhookSender) {}

  @Process({ name: JobName.DeliverEvent, concurrency: 16 })
  async deliver(job: Job<DeliverJob>): Promise<DeliveryResult> {
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    return this.sender.deliver(job.data.eventId, { attemptsMade: job.attemptsMade, finalAttempt });
  }
}
