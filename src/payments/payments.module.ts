import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppRole } from '../config/env.js';
import { BullModule } from '@nestjs/bull';
import { hasHttpApi, runsWorkers } from '../config/roles.js';
import { QueueName } from '../queue/queues.js';
import { IdempotencyModule } from '../http/idempotency/idempotency.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { PaymentPollProcessor } from './polling/payment-poll.processor.js';
import { PaymentPollingService } from './polling/payment-polling.service.js';
import { PollSchedulerTask } from './polling/poll-scheduler.task.js';
import { PollWakeups } from './polling/poll-wakeups.js';
import { RedisModule } from '../redis/redis.module.js';
import { ReconciliationCursor } from './reconciliation-cursor.entity.js';
import { ReconciliationService } from './reconciliation.service.js';
import { ReconciliationTask } from './reconciliation.task.js';
import { OrdersModule } from '../orders/orders.module.js';
import { PaymentReadModel } from './payment-read-model.js';
import { InboundWebhooksModule } from '../webhooks/inbound/inbound.module.js';
import { PaymentTimelineEntry } from './payment-timeline-entry.entity.js';
import { Payment } from './payment.entity.js';
import { PaymentsController } from './payments.controller.js';
import { PaymentsMetrics } from './payments-metrics.js';
import { PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';
import { TypeormPaymentsRepository } from './persistence/payments.typeorm-repository.js';
import { PspResultsService } from './psp-results.service.js';
import { PspWebhookHandler } from './psp-webhook.handler.js';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/env.js';
import { HttpPspClient } from './psp/http-psp.client.js';
import { PspClient } from './psp/psp.client.js';
import { StripePspClient } from './psp/stripe-psp.client.js';
import { StripeWebhookHandler } from './stripe-webhook.handler.js';
import { OutboundWebhooksModule } from '../webhooks/outbound/outbound.module.js';
import { PaymentAttention } from './payment-attention.js';

/**
 * Payment attempts for orders: talks to the PSP through the PspClient port (the PSP mock,
 * or Stripe with PSP_PROVIDER=stripe) and applies PSP results (registered as the inbound
 * webhook handler for 'psp' and for 'stripe'), whether
 * they come by webhook, by polling (fallback, short, long) or by reconciliation.
 */
@Module({})
export class PaymentsModule {
  private static readonly byRole = new Map<AppRole, DynamicModule>();

  /** Memoised: the UI imports the same instance as the root module. */
  static forRole(role: AppRole): DynamicModule {
    const existing = PaymentsModule.byRole.get(role);
    if (existing) return existing;
    const mod: DynamicModule = {
      module: PaymentsModule,
      imports: [
        TypeOrmModule.forFeature([Payment, PaymentTimelineEntry, ReconciliationCursor]),
        BullModule.registerQueue({ name: QueueName.PaymentPoll }),
        OrdersModule.forRole(role),
        IdempotencyModule,
        MetricsModule,
        RedisModule,
        InboundWebhooksModule.forRole(role),
        OutboundWebhooksModule.forRole(role),
      ],
      controllers: hasHttpApi(role) ? [PaymentsController] : [],
      providers: [
        PaymentsService,
        PspResultsService,
        PaymentAttention,
        PaymentsMetrics,
        { provide: PaymentsRepository, useClass: TypeormPaymentsRepository },
        PspWebhookHandler,
        StripeWebhookHandler,
        // PSP_PROVIDER picks the adapter; both are built (the Stripe one makes its SDK on first use).
        HttpPspClient,
        StripePspClient,
        {
          provide: PspClient,
          useFactory: (config: ConfigService<AllConfig, true>, mock: HttpPspClient, stripe: StripePspClient) =>
            config.get('PSP_PROVIDER', { infer: true }) === 'stripe' ? stripe : mock,
          inject: [ConfigService, HttpPspClient, StripePspClient],
        },
        PaymentPollingService,
        PollWakeups,
        ReconciliationService,
        PaymentReadModel,
        ...(runsWorkers(role) ? [PaymentPollProcessor, PollSchedulerTask, ReconciliationTask] : []),
      ],
      exports: [PaymentsService, PaymentReadModel],
    };
    PaymentsModule.byRole.set(role, mod);
    return mod;
  }
}
