import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig, AppRole } from '../../config/env.js';
import { hasHttpApi, runsPsp, runsWorkers } from '../../config/roles.js';
import { QueueName } from '../../queue/queues.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { RedisModule } from '../../redis/redis.module.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { DeliveryAttempt } from './delivery/delivery-attempt.js';
import { DeliveryHttpClient } from './delivery/delivery-http-client.js';
import { ENGINE_BACKOFF, engineBackoff } from './delivery/delivery-job.js';
import { DELIVERY_OWNERS } from './delivery/delivery-owners.js';
import { DeliveryNotices } from './delivery/delivery-notices.js';
import { DeliveryRecorder } from './delivery/delivery-recorder.js';
import { DeliverySchedules } from './delivery/delivery-schedules.js';
import { DeliverySweeperTask } from './delivery/delivery-sweeper.task.js';
import { DeliveryProcessor } from './delivery/delivery.processor.js';
import { EndpointHealth } from './delivery/endpoint-health.js';
import { EndpointThrottle } from './delivery/endpoint-throttle.js';
import { EndpointsRepository } from './endpoints.repository.js';
import { OutboundAddressPolicies } from './http/outbound-address-policies.js';
import { EndpointSchemePolicy } from './http/endpoint-scheme-policy.js';
import { DeliveryAttemptReadModel } from './delivery-attempt-read-model.js';
import { EndpointsService } from './endpoints.service.js';
import { OutboundHooks } from './outbound-hooks.js';
import { OutboundMetrics } from './outbound-metrics.js';
import { OutboundRetentionTask } from './outbound-retention.task.js';
import { SigningSecrets } from './signing-secrets.js';
import type { OutboundOwner } from './outbound.entities.js';
import { PspWebhookEndpointsController, WebhookEndpointsController } from './endpoints-controller.factory.js';
import { EventTypesController } from './event-types.controller.js';
import { EventsController } from './events.controller.js';
import { UndeliveredEventsController } from './undelivered-events.controller.js';
import { EventsRepository } from './events.repository.js';
import { EventsService } from './events.service.js';
import { TypeormEventsRepository } from './persistence/events.typeorm-repository.js';
import { TypeormDeliveriesRepository } from './persistence/deliveries.typeorm-repository.js';
import { TypeormEndpointsRepository } from './persistence/endpoints.typeorm-repository.js';
import { DirectSender } from './direct-sender.js';
import { WebhookOutbox } from './webhook-outbox.js';

/**
 * The outbound half of the webhooks module: endpoints, messages, deliveries and
 * attempts; the outbox publishers write to, the delivery engine (delivery/) that signs,
 * sends and retries, and the shop's management API. The PSP mock uses the same engine for its
 * own messages (owner psp, its own queue and API).
 */
@Module({})
export class OutboundWebhooksModule {
  private static readonly byRole = new Map<AppRole, DynamicModule>();

  /**
   * Memoised: the root module and the modules that publish or read through the outbound
   * engine (orders, payments through orders, the PSP mock, the UI) import one instance.
   */
  static forRole(role: AppRole): DynamicModule {
    const existing = OutboundWebhooksModule.byRole.get(role);
    if (existing) return existing;
    const owners: OutboundOwner[] = [
      ...(runsWorkers(role) ? (['shop'] as const) : []),
      ...(runsPsp(role) ? (['psp'] as const) : []),
    ];
    const settings = { backoffStrategies: { [ENGINE_BACKOFF]: engineBackoff } };
    const mod: DynamicModule = {
      module: OutboundWebhooksModule,
      imports: [
        MetricsModule,
        RedisModule,
        // Only the queues of the owners this role publishes for.
        BullModule.registerQueue(
          ...(hasHttpApi(role) || runsWorkers(role) ? [{ name: QueueName.WebhookDelivery, settings }] : []),
          ...(runsPsp(role) ? [{ name: QueueName.PspDelivery, settings }] : []),
        ),
      ],
      controllers: [
        ...(hasHttpApi(role)
          ? [WebhookEndpointsController, EventTypesController, EventsController, UndeliveredEventsController]
          : []),
        ...(runsPsp(role) ? [PspWebhookEndpointsController] : []),
      ],
      providers: [
        WebhookOutbox,
        OutboundHooks,
        OutboundMetrics,
        SigningSecrets,
        { provide: DeliveriesRepository, useClass: TypeormDeliveriesRepository },
        { provide: EndpointsRepository, useClass: TypeormEndpointsRepository },
        { provide: EventsRepository, useClass: TypeormEventsRepository },
        EventsService,
        DeliverySchedules,
        DeliveryHttpClient,
        EndpointThrottle,
        EndpointHealth,
        DeliveryNotices,
        DeliveryRecorder,
        DeliveryAttempt,
        DirectSender,
        EndpointsService,
        DeliveryAttemptReadModel,
        {
          provide: OutboundAddressPolicies,
          inject: [ConfigService],
          useFactory: (config: ConfigService<AllConfig, true>) =>
            OutboundAddressPolicies.fromLists(
              config.get('WEBHOOK_ALLOWED_CIDRS', { infer: true }) ?? '',
              config.get('PSP_CALLBACK_ALLOWED_CIDRS', { infer: true }) ?? '',
              new EndpointSchemePolicy(
                config.get('WEBHOOK_HTTPS_ONLY', { infer: true }) ?? false,
                config.get('WEBHOOK_HTTP_ALLOWED_HOSTS', { infer: true }),
              ),
            ),
        },
        ...(owners.length > 0
          ? [
              { provide: DELIVERY_OWNERS, useValue: owners },
              DeliveryProcessor,
              DeliverySweeperTask,
              OutboundRetentionTask,
            ]
          : []),
      ],
      exports: [WebhookOutbox, DirectSender, OutboundHooks, EndpointsService, DeliveryAttemptReadModel],
    };
    OutboundWebhooksModule.byRole.set(role, mod);
    return mod;
  }
}
