import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PspEvent, type DeliveryStatus, type PspEventType } from './psp-event.entity.js';

/** One event the PSP emitted, with its delivery record. */
export interface PspEventRecord {
  id: string;
  type: PspEventType;
  createdAt: Date;
  callbackUrl: string | null;
  deliveryStatus: DeliveryStatus;
  deliveryAttempts: number;
  deliveredAt: Date | null;
  lastDeliveryError: string | null;
}

/**
 * Read-only queries on the PSP's events. The PSP is a separate system in the design and
 * the shop never reads its tables; the operator's payment page, a view across both, uses
 * this when the PSP mock runs in the same process.
 */
@Injectable()
export class PspEventReadModel {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The PSP's events for one of its payments, in the order it emitted them, at most 100. */
  eventsOfPayment(pspPaymentId: string): Promise<PspEventRecord[]> {
    return this.db.getRepository(PspEvent).find({
      select: {
        id: true,
        type: true,
        createdAt: true,
        callbackUrl: true,
        deliveryStatus: true,
        deliveryAttempts: true,
        deliveredAt: true,
        lastDeliveryError: true,
      },
      where: { paymentId: pspPaymentId },
      order: { seq: 'ASC' },
      take: 100,
    });
  }
}
