import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppRole } from '../config/env.js';
import { hasHttpApi } from '../config/roles.js';
import { IdempotencyModule } from '../http/idempotency/idempotency.module.js';
import { OutboundWebhooksModule } from '../webhooks/outbound/outbound.module.js';
import { Order } from './order.entity.js';
import { OrderReadModel } from './order-read-model.js';
import { OrdersController } from './orders.controller.js';
import { OrdersRepository } from './orders.repository.js';
import { OrdersService } from './orders.service.js';
import { TypeormOrdersRepository } from './persistence/orders.typeorm-repository.js';

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
      imports: [TypeOrmModule.forFeature([Order]), IdempotencyModule, OutboundWebhooksModule.forRole(role)],
      controllers: hasHttpApi(role) ? [OrdersController] : [],
      providers: [OrdersService, OrderReadModel, { provide: OrdersRepository, useClass: TypeormOrdersRepository }],
      exports: [OrdersService, OrderReadModel],
    };
    OrdersModule.byRole.set(role, mod);
    return mod;
  }
}
