import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { InboxEntry, type InboxStatus } from './inbox-entry.entity.js';

/** One inbound event in the inbox, as the operator's pages show it. */
export interface InboxEventRecord {
  id: string;
  eventId: string;
  eventType: string;
  status: InboxStatus;
  /** What the handler did with it ("payment succeeded", "ignored: …"). */
  outcome: string | null;
  receivedVia: 'webhook' | 'reconciliation';
  receivedAt: Date;
  verifiedAt: Date;
  queuedAt: Date | null;
  processedAt: Date | null;
  attempts: number;
  lastError: string | null;
  /** W3C traceparent of the request that delivered it (tracing on), or null. */
  traceContext?: string | null;
}

/** Read-only queries other modules may use to show inbound events; changes nothing. */
@Injectable()
export class InboxReadModel {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The inbox rows `ids` names, and every PSP event about `pspPaymentId` (also those
   * not applied yet, or ignored before they reached the payment), oldest first, at most 200.
   */
  async eventsAbout(ids: string[], pspPaymentId: string | null): Promise<InboxEventRecord[]> {
    if (ids.length === 0 && !pspPaymentId) return [];
    const qb = this.db.getRepository(InboxEntry).createQueryBuilder('i');
    if (ids.length > 0) qb.where('i.id IN (:...ids)', { ids });
    // Found through the expression index on the payload's payment id (idx_webhook_inbox_psp_payment).
    if (pspPaymentId) {
      qb.orWhere(`i.source = 'psp' AND i.payload->'data'->>'payment_id' = :psp`, { psp: pspPaymentId });
    }
    return qb.orderBy('i.received_at', 'ASC').limit(200).getMany();
  }
}
