import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppRole } from '../config/env.js';
import { hasHttpApi } from '../config/roles.js';
import { OutboundWebhooksModule } from '../webhooks/outbound/outbound.module.js';
import { Order } from './order.entity.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

/** The shop's orders and their state machine. Knows nothing of PSPs. */
@Module({})
export class OrdersModule {
  private static readonly byRole = new Map<AppRole, DynamicModule>();

  /** Memoised: payments imports the same instance as the root module. */
  static forRole(role: AppRole): DynamicModule {
    const existing = OrdersModule.byRole.get(role);
    if (existing) return existing;
    const mod: DynamicModule = {
      module: OrdersModule,
      imports: [TypeOrmModule.forFeature([Order]), OutboundWebhooksModule.forRole(role)],
      controllers: hasHttpApi(role) ? [OrdersController] : [],
      providers: [OrdersService],
      exports: [OrdersService],
    };
    OrdersModule.byRole.set(role, mod);
    return mod;
  }
}
