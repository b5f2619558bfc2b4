import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { JobName, QueueName } from '../../queue/queues.js';
import { PspMockService, type SettleJob } from '../psp-mock.service.js';

@Processor(QueueName.PspSettlement)
export class PspSettlementProcessor {
  constructor(private readonly psp: PspMockService) {}

  @Process({ name: JobName.SettlePayment, concurrency: 8 })
  async settle(job: Job<SettleJob>): Promise<string | null> {
    return (await this.psp.settle(job.data.pspPaymentId, job.data.payment))?.id ?? null;
  }
}
