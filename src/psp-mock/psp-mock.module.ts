import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppRole } from '../config/env.js';
import { QueueName } from '../queue/queues.js';
import { RedisModule } from '../redis/redis.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { IdempotencyModule } from '../http/idempotency/idempotency.module.js';
import { OutboundWebhooksModule } from '../webhooks/outbound/outbound.module.js';
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
import { PspEventsRepository } from './psp-events.repository.js';
import { PspPaymentsRepository } from './psp-payments.repository.js';
import { PspSettingsRepository } from './psp-settings.repository.js';
import { TypeormPspEventsRepository } from './persistence/psp-events.typeorm-repository.js';
import { TypeormPspPaymentsRepository } from './persistence/psp-payments.typeorm-repository.js';
import { TypeormPspSettingsRepository } from './persistence/psp-settings.typeorm-repository.js';
import { PspOutboundHooks } from './psp-outbound.hooks.js';
import { StripeDialectController } from './stripe/stripe-dialect.controller.js';
import { StripeDialectService } from './stripe/stripe-dialect.service.js';

/**
 * A Stripe-like PSP with its own tables, API under /psp/v1, API key and signing
 * secret. The shop reaches it only over HTTP, even when both run in one process.
 */
@Module({})
export class PspMockModule {
  private static readonly byRole = new Map<AppRole, DynamicModule>();

  /** Memoised: the root module and the UI (payment page) import one instance. */
  static forRole(role: AppRole): DynamicModule {
    const existing = PspMockModule.byRole.get(role);
    if (existing) return existing;
    const mod: DynamicModule = {
      module: PspMockModule,
      imports: [
        TypeOrmModule.forFeature([PspPayment, PspEvent, PspSetting]),
        // Its deliveries run on the outbound engine (queue psp-delivery).
        OutboundWebhooksModule.forRole(role),
        BullModule.registerQueue({ name: QueueName.PspSettlement }),
        RedisModule,
        MetricsModule,
        IdempotencyModule,
      ],
      controllers: [PspMockController, StripeDialectController],
      providers: [
        PspMockService,
        PspOutboundHooks,
        ChaosService,
        SettlementNotifier,
        PspMetrics,
        PspSettlementProcessor,
        PspSweeperTask,
        PspEventReadModel,
        StripeDialectService,
        { provide: PspPaymentsRepository, useClass: TypeormPspPaymentsRepository },
        { provide: PspEventsRepository, useClass: TypeormPspEventsRepository },
        { provide: PspSettingsRepository, useClass: TypeormPspSettingsRepository },
      ],
      exports: [PspEventReadModel],
    };
    PspMockModule.byRole.set(role, mod);
    return mod;
  }
}
