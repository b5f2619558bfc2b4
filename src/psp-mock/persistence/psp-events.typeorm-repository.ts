import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PSP_EVENT_TYPES, PspEvent } from '../psp-event.entity.js';
import { PspEventsRepository, type StripeEventsFilter } from '../psp-events.repository.js';
import { STRIPE_EVENT_TYPES } from '../stripe/stripe-objects.js';

@Injectable()
export class TypeormPspEventsRepository extends PspEventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  async seqOf(eventId: string): Promise<string | null> {
    const row = await this.db.getRepository(PspEvent).findOne({ where: { id: eventId }, select: { seq: true } });
    return row ? row.seq : null;
  }

  page(q: { afterSeq?: string; type?: string; take: number }): Promise<PspEvent[]> {
    // The mock's own events only: the Stripe dialect's are listed at /v1/events.
    const qb = this.db
      .getRepository(PspEvent)
      .createQueryBuilder('e')
      .where('e.type IN (:...types)', { types: PSP_EVENT_TYPES })
      .orderBy('e.seq', 'ASC')
      .take(q.take);
    if (q.afterSeq !== undefined) qb.andWhere('e.seq > :seq', { seq: q.afterSeq });
    if (q.type) qb.andWhere('e.type = :type', { type: q.type });
    return qb.getMany();
  }

  stripePage(f: StripeEventsFilter): Promise<PspEvent[]> {
    const qb = this.db
      .getRepository(PspEvent)
      .createQueryBuilder('e')
      .where('e.type IN (:...types)', { types: STRIPE_EVENT_TYPES });
    if (f.olderThan !== undefined) qb.andWhere('e.seq < :after', { after: f.olderThan });
    else if (f.newerThan !== undefined) qb.andWhere('e.seq > :before', { before: f.newerThan });
    // types[]= with no value lists nothing: '' keeps IN (…) from being empty, which is a syntax error.
    if (f.types) qb.andWhere('e.type IN (:...only)', { only: [...f.types, ''] });
    if (f.type !== undefined) qb.andWhere('e.type = :type', { type: f.type });
    if (f.createdAt !== undefined) qb.andWhere('e.created_at = to_timestamp(:eq)', { eq: f.createdAt });
    for (const [i, { compare, unix }] of (f.created ?? []).entries()) {
      // Stripe's created is whole seconds: compare at that precision.
      qb.andWhere(`date_trunc('second', e.created_at) ${compare} to_timestamp(:c_${i})`, { [`c_${i}`]: unix });
    }
    return qb
      .orderBy('e.seq', f.newerThan !== undefined ? 'ASC' : 'DESC')
      .take(f.take)
      .getMany();
  }

  readonly callbackAttemptMirrorSql = `UPDATE psp_events p SET delivery_attempts = p.delivery_attempts + 1,
              delivery_status = CASE WHEN m.succeeded THEN 'delivered' WHEN m.final THEN 'failed' ELSE 'pending' END,
              delivered_at = CASE WHEN m.succeeded THEN now() ELSE p.delivered_at END,
              last_delivery_error = m.error
         FROM mirrored m WHERE p.id = m.event_id`;
}
