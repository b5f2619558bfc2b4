import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../../config/env.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { QueueName } from '../../queue/queues.js';
import { hasHttpApi, runsWorkers } from '../../config/roles.js';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxAdminController } from './inbox-admin.controller.js';
import { InboxApplier } from './inbox-applier.js';
import { InboxBacklogGauges } from './inbox-backlog-gauges.js';
import { InboxDeadLetters } from './inbox-dead-letters.js';
import { InboxQueue } from './inbox-queue.js';
import { InboxReadModel } from './inbox-read-model.js';
import { InboxRepository } from './inbox.repository.js';
import { InboxRetentionTask } from './inbox-retention.task.js';
import { InboxSweeperTask } from './inbox-sweeper.task.js';
import { InboxWriter } from './inbox-writer.js';
import { InboxProcessor } from './inbox.processor.js';
import { TypeormInboxRepository } from './persistence/inbox.typeorm-repository.js';
import { WebhookHandlerRegistry } from './webhook-handler.js';
import { WebhookReceiverController } from './webhook-receiver.controller.js';
import { WebhookRejectionsHook } from './webhook-rejections.hook.js';
import { WebhookSignatureGuard } from './webhook-signature.guard.js';
import { WebhookSources } from './webhook-sources.js';

/**
 * Inbound webhooks for any module: signature guard, the inbox (writer, queue, applier,
 * dead letters, retention) and the processor that hands each event to the handler
 * registered for its source. Modules register their handlers with the exported
 * WebhookHandlerRegistry; reconciliation stores the events it pulls through InboxWriter.
 */
@Module({})
export class InboundWebhooksModule {
  private static readonly byRole = new Map<AppRole, DynamicModule>();

  /** Memoised: the modules that register handlers or store events import the same instance as the root module. */
  static forRole(role: AppRole): DynamicModule {
    const existing = InboundWebhooksModule.byRole.get(role);
    if (existing) return existing;
    const mod: DynamicModule = {
      module: InboundWebhooksModule,
      imports: [BullModule.registerQueue({ name: QueueName.WebhookInbox }), MetricsModule],
      controllers: hasHttpApi(role) ? [WebhookReceiverController, InboxAdminController] : [],
      providers: [
        { provide: InboxRepository, useClass: TypeormInboxRepository },
        WebhookSources,
        WebhookHandlerRegistry,
        WebhookSignatureGuard,
        InboundMetrics,
        InboxBacklogGauges,
        InboxQueue,
        InboxWriter,
        InboxApplier,
        InboxReadModel,
        ...(hasHttpApi(role) ? [WebhookRejectionsHook, InboxDeadLetters] : []),
        ...(runsWorkers(role) ? [InboxProcessor, InboxSweeperTask, InboxRetentionTask] : []),
      ],
      exports: [WebhookHandlerRegistry, InboxWriter, InboxReadModel],
    };
    InboundWebhooksModule.byRole.set(role, mod);
    return mod;
  }
}
