import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { QueueName } from '../queue/queues.js';
import { RedisModule } from '../redis/redis.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { IdempotencyModule } from '../http/idempotency/idempotency.module.js';
import { PspSettlementProcessor } from './processors/psp-settlement.processor.js';
import { ChaosService } from './chaos.service.js';
import { PspEvent } from './psp-event.entity.js';
import { PspEventReadModel } from './psp-event-read-model.js';
import { PspMetrics } from './psp-metrics.js';
import { PspSetting } from './psp-setting.entity.js';
import { SettlementNotifier } from './settlement-notifier.js';
import { PspMockController } from './psp-mock.controller.js';
import { PspMockService } from './psp-mock.service.js';
import { PspPayment } from './psp-payment.entity.js';
import { PspSweeperTask } from './psp-sweeper.task.js';
import { PspOutboundHooks } from './psp-outbound.hooks.js';

/**
 * A Stripe-like PSP with its own tables, API under /psp/v1, API key and signing
 * secret. The shop reaches it only over HTTP, even when both run in one process.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([PspPayment, PspEvent, PspSetting]),
    // Its deliveries run on the outbound engine (OutboundWebhooksModule, queue psp-delivery).
    BullModule.registerQueue({ name: QueueName.PspSettlement }),
    RedisModule,
    MetricsModule,
    IdempotencyModule,
  ],
  controllers: [PspMockController],
  providers: [
    PspMockService,
    PspOutboundHooks,
    ChaosService,
    SettlementNotifier,
    PspMetrics,
    PspSettlementProcessor,
    PspSweeperTask,
    PspEventReadModel,
  ],
  exports: [PspEventReadModel],
})
export class PspMockModule {}
