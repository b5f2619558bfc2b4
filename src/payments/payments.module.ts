import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppRole } from '../config/env.js';
import { hasHttpApi } from '../config/roles.js';
import { OrdersModule } from '../orders/orders.module.js';
import { PaymentTimelineEntry } from './payment-timeline-entry.entity.js';
import { Payment } from './payment.entity.js';
import { PaymentsController } from './payments.controller.js';
import { PaymentsService } from './payments.service.js';
import { PspWebhookHandler } from './psp-webhook.handler.js';
import { HttpPspClient } from './psp/http-psp.client.js';
import { PspClient } from './psp/psp.client.js';

/**
 * Payment attempts for orders: talks to the PSP through the PspClient port and
 * applies PSP results (registered as the inbound webhook handler for 'psp').
 */
@Module({})
export class PaymentsModule {
  static forRole(role: AppRole): DynamicModule {
    return {
      module: PaymentsModule,
      imports: [TypeOrmModule.forFeature([Payment, PaymentTimelineEntry]), OrdersModule.forRole(role)],
      controllers: hasHttpApi(role) ? [PaymentsController] : [],
      providers: [PaymentsService, PspWebhookHandler, { provide: PspClient, useClass: HttpPspClient }],
      exports: [PaymentsService],
    };
  }
}
