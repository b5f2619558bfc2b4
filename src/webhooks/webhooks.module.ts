import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../config/env.js';
import { QueueName } from '../queue/queues.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { hasHttpApi, runsWorkers } from '../config/roles.js';
import { InboxProcessor } from './inbound/inbox.processor.js';
import { InboxService } from './inbound/inbox.service.js';
import { InboxMetrics } from './inbound/inbox-metrics.js';
import { InboxAdminController } from './inbound/inbox-admin.controller.js';
import { InboxDeadLetters } from './inbound/inbox-dead-letters.js';
import { InboxRetention } from './inbound/inbox-retention.js';
import { InboxSweeperTask } from './inbound/inbox-sweeper.task.js';
import { WebhookHandlerRegistry } from './inbound/webhook-handler.js';
import { WebhookReceiverController } from './inbound/webhook-receiver.controller.js';
import { WebhookRejectionsHook } from './inbound/webhook-rejections.hook.js';
import { WebhookSignatureGuard } from './inbound/webhook-signature.guard.js';
import { WebhookSources } from './inbound/webhook-sources.js';

/**
 * Inbound webhooks for any module: signature guard, inbox, inbox queue and the
 * processor that hands each event to the handler registered for its source.
 */
@Module({})
export class WebhooksModule {
  static forRole(role: AppRole): DynamicModule {
    return {
      module: WebhooksModule,
      global: true,
      imports: [BullModule.registerQueue({ name: QueueName.WebhookInbox }), MetricsModule],
      controllers: hasHttpApi(role) ? [WebhookReceiverController, InboxAdminController] : [],
      providers: [
        WebhookSources,
        WebhookHandlerRegistry,
        WebhookSignatureGuard,
        InboxService,
        InboxMetrics,
        ...(hasHttpApi(role) ? [WebhookRejectionsHook, InboxDeadLetters] : []),
        ...(runsWorkers(role) ? [InboxProcessor, InboxSweeperTask, InboxRetention] : []),
      ],
      exports: [WebhookHandlerRegistry, InboxService],
    };
  }
}
