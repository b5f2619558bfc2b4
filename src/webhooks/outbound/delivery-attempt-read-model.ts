import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { WebhookAttempt } from './outbound.entities.js';

/** One attempt at a delivery, as the operator's pages show it. */
export interface DeliveryAttemptRecord {
  deliveryId: string;
  number: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** The first bytes of the answer's body. */
  responseExcerpt: string | null;
  succeeded: boolean;
}

/** Read-only queries other modules may use to show delivery attempts; changes nothing. */
@Injectable()
export class DeliveryAttemptReadModel {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Every attempt at the given deliveries, oldest first. */
  async attemptsOf(deliveryIds: string[]): Promise<DeliveryAttemptRecord[]> {
    if (deliveryIds.length === 0) return [];
    return this.db.getRepository(WebhookAttempt).find({
      where: { deliveryId: In(deliveryIds) },
      order: { startedAt: 'ASC', id: 'ASC' },
    });
  }
}
