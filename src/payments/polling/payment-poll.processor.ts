import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { JobName, QueueName } from '../../queue/queues.js';
import { PaymentPollingService, type PollJob } from './payment-polling.service.js';

/** Polls are I/O waits (a long poll holds for up to LONG_POLL_WAIT_S), so many run at once. */
export const POLL_CONCURRENCY = 200;

@Processor(QueueName.PaymentPoll)
export class PaymentPollProcessor {
  constructor(private readonly polling: PaymentPollingService) {}

  @Process({ name: JobName.PollPayment, concurrency: POLL_CONCURRENCY })
  poll(job: Job<PollJob>): Promise<string> {
    return this.polling.poll(job.data);
  }
}
