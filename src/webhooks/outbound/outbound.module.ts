import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig, AppRole } from '../../config/env.js';
import { hasHttpApi, runsPsp, runsWorkers } from '../../config/roles.js';
import { QueueName } from '../../queue/queues.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { DELIVERY_OWNERS, DeliveryWorker } from './delivery-worker.js';
import { OutboundAddressPolicies } from './http/outbound-address-policies.js';
import { DeliveryAttemptReadModel } from './delivery-attempt-read-model.js';
import { EndpointsService } from './endpoints.service.js';
import { OutboundHooks } from './outbound-hooks.js';
import { OutboundMetrics } from './outbound-metrics.js';
import { OutboundRetention } from './outbound-retention.js';
import { SigningSecrets } from './signing-secrets.js';
import type { OutboundOwner } from './outbound.entities.js';
import { PspWebhookEndpointsController, WebhookEndpointsController } from './endpoints-controller.factory.js';
import { ENGINE_BACKOFF, WebhookOutbox } from './webhook-outbox.js';
import { WebhookDispatcher, engineBackoff } from './webhook-dispatcher.js';

/**
 * The outbound half of the webhooks module: endpoints, messages, deliveries and
 * attempts; the outbox publishers write to, the dispatcher that signs, sends and
 * retries, and the shop's management API. The PSP mock uses the same engine for its
 * own messages (owner psp, its own queue and API).
 */
@Module({})
export class OutboundWebhooksModule {
  private static readonly byRole = new Map<AppRole, DynamicModule>();

  /** Memoised: the UI imports the same instance as the root module. */
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
      global: true,
      imports: [
        MetricsModule,
        // Only the queues of the owners this role publishes for.
        BullModule.registerQueue(
          ...(hasHttpApi(role) || runsWorkers(role) ? [{ name: QueueName.WebhookDelivery, settings }] : []),
          ...(runsPsp(role) ? [{ name: QueueName.PspDelivery, settings }] : []),
        ),
      ],
      controllers: [
        ...(hasHttpApi(role) ? [WebhookEndpointsController] : []),
        ...(runsPsp(role) ? [PspWebhookEndpointsController] : []),
      ],
      providers: [
        WebhookOutbox,
        OutboundHooks,
        OutboundMetrics,
        SigningSecrets,
        WebhookDispatcher,
        EndpointsService,
        DeliveryAttemptReadModel,
        {
          provide: OutboundAddressPolicies,
          inject: [ConfigService],
          useFactory: (config: ConfigService<AllConfig, true>) =>
            OutboundAddressPolicies.fromLists(
              config.get('WEBHOOK_ALLOWED_CIDRS', { infer: true }) ?? '',
              config.get('PSP_CALLBACK_ALLOWED_CIDRS', { infer: true }) ?? '',
            ),
        },
        ...(owners.length > 0
          ? [{ provide: DELIVERY_OWNERS, useValue: owners }, DeliveryWorker, OutboundRetention]
          : []),
      ],
      exports: [WebhookOutbox, OutboundHooks, EndpointsService, WebhookDispatcher, DeliveryAttemptReadModel],
    };
    OutboundWebhooksModule.byRole.set(role, mod);
    return mod;
  }
}
