import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { InboxRow } from './inbox-row.entity.js';
import { WebhooksController } from './webhooks.controller.js';

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [InboxRow],
      synchronize: false,
      applicationName: 'nest-baseline',
    }),
    TypeOrmModule.forFeature([InboxRow]),
    BullModule.forRoot({ url: process.env.REDIS_URL, prefix: process.env.REDIS_PREFIX }),
    BullModule.registerQueue({ name: 'webhook-inbox' }),
  ],
  controllers: [WebhooksController],
})
export class AppModule {}
