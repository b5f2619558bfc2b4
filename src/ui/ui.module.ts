import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../config/env.js';
import { hasHttpApi, runsPsp } from '../config/roles.js';
import { OutboundWebhooksModule } from '../webhooks/outbound/outbound.module.js';
import { PaymentPageController } from './payment-page.controller.js';
import { PaymentPageReader, PSP_IN_PROCESS } from './payment-page.reader.js';
import { UiAdminGuard, UiAuthGuard } from './ui-auth.guard.js';
import { EndpointPageController } from './endpoint-page.controller.js';

/**
 * Server-rendered operator pages under /ui (Bearer or Basic auth: the shop key for
 * payments, the admin key for webhook endpoints' delivery history). Read-only
 * views across the shop's modules; the PSP's delivery record is shown when the PSP
 * mock runs in the same process.
 */
@Module({})
export class UiModule {
  static forRole(role: AppRole): DynamicModule {
    return {
      module: UiModule,
      imports: [OutboundWebhooksModule.forRole(role)],
      controllers: hasHttpApi(role) ? [PaymentPageController, EndpointPageController] : [],
      providers: [PaymentPageReader, UiAuthGuard, UiAdminGuard, { provide: PSP_IN_PROCESS, useValue: runsPsp(role) }],
    };
  }
}
