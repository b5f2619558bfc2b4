import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../config/env.js';
import { hasHttpApi, runsPsp } from '../config/roles.js';
import { OrdersModule } from '../orders/orders.module.js';
import { PaymentsModule } from '../payments/payments.module.js';
import { PspMockModule } from '../psp-mock/psp-mock.module.js';
import { OutboundWebhooksModule } from '../webhooks/outbound/outbound.module.js';
import { InboundWebhooksModule } from '../webhooks/inbound/inbound.module.js';
import { EndpointPageController } from './endpoint-page.controller.js';
import { EndpointPageReader } from './endpoint-page.reader.js';
import { PaymentPageController } from './payment-page.controller.js';
import { PaymentPageReader } from './payment-page.reader.js';
import { UiAdminGuard, UiAuthGuard } from './ui-auth.guard.js';

/**
 * Server-rendered operator pages under /ui (Bearer or Basic auth: the shop key for
 * payments, the admin key for webhook endpoints' delivery history). Read-only
 * views across the shop's modules, through the read models they export; the PSP's
 * delivery record is shown when the PSP mock runs in the same process.
 */
@Module({})
export class UiModule {
  static forRole(role: AppRole): DynamicModule {
    return {
      module: UiModule,
      imports: [
        OrdersModule.forRole(role),
        PaymentsModule.forRole(role),
        InboundWebhooksModule.forRole(role),
        OutboundWebhooksModule.forRole(role),
        ...(runsPsp(role) ? [PspMockModule.forRole(role)] : []),
      ],
      controllers: hasHttpApi(role) ? [PaymentPageController, EndpointPageController] : [],
      providers: [PaymentPageReader, EndpointPageReader, UiAuthGuard, UiAdminGuard],
    };
  }
}
