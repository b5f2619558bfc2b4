import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import type { AllConfig } from '../config/env.js';
import { notFound } from '../common/errors/domain-error.js';
import { prefixedId } from '../common/ids.js';
import { JobName, QueueName, defaultJobOptions } from '../queue/queues.js';
import type { CreatePspPaymentDto } from './dto/psp-payment.dto.js';
import { PspEvent, type PspEventType } from './psp-event.entity.js';
import { PspPayment } from './psp-payment.entity.js';
import { PspWebhookSender } from './psp-webhook.sender.js';

const PSP_PAYMENT_ID = /^pay_[0-9a-f]{24}$/;

export interface SettleJob {
  pspPaymentId: string;
}

/** The PSP mock's core: accepts payments, settles them later, and writes their events. */
@Injectable()
export class PspMockService {
  private readonly logger = new Logger('PspMock');
  private readonly settleDelay: { min: number; max: number };

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QueueName.PspSettlement) private readonly settlements: Queue<SettleJob>,
    private readonly sender: PspWebhookSender,
    config: ConfigService<AllConfig, true>,
  ) {
    this.settleDelay = {
      min: config.get('PSP_SETTLE_DELAY_MIN_MS', { infer: true }),
      max: config.get('PSP_SETTLE_DELAY_MAX_MS', { infer: true }),
    };
  }

  /** Stores a payment as processing and schedules its settlement. (Idempotency-Key: the route's interceptor.) */
  async createPayment(dto: CreatePspPaymentDto): Promise<PspPayment> {
    const payment = await this.db.getRepository(PspPayment).save(
      this.db.getRepository(PspPayment).create({
        id: prefixedId('pay'),
        amount: dto.amount,
        currency: dto.currency,
        status: 'processing',
        paymentMethod: dto.payment_method ?? 'pm_card_ok',
        callbackUrl: dto.callback_url ?? null,
        metadata: dto.metadata ?? {},
        settledAt: null,
      }),
    );
    await this.scheduleSettlement(payment.id);
    this.logger.log(
      `PSP payment ${payment.id} created: ${payment.amount} ${payment.currency} ${payment.paymentMethod}`,
    );
    return payment;
  }

  async getPayment(id: string): Promise<PspPayment> {
    const payment = PSP_PAYMENT_ID.test(id) ? await this.db.getRepository(PspPayment).findOneBy({ id }) : null;
    if (!payment) throw notFound('PSP.PAYMENT_NOT_FOUND', 'Payment', id);
    return payment;
  }

  /** Job id = payment id: scheduling twice settles once. If Redis is down, the sweeper reschedules. */
  async scheduleSettlement(pspPaymentId: string, delayMs = this.drawDelay()): Promise<void> {
    try {
      await this.settlements.add(
        JobName.SettlePayment,
        { pspPaymentId },
        { ...defaultJobOptions, jobId: pspPaymentId, delay: delayMs },
      );
    } catch (err) {
      this.logger.warn(
        `Could not schedule settlement of ${pspPaymentId}, the sweeper will retry: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Settles a processing payment: pm_card_declined fails, anything else completes.
   * The status change and its event (with a pending delivery) commit together; the
   * delivery is enqueued after commit.
   */
  async settle(pspPaymentId: string): Promise<PspEvent | null> {
    const event = await this.db.transaction(async (manager) => {
      const payment = await manager
        .getRepository(PspPayment)
        .createQueryBuilder('p')
        .setLock('pessimistic_write')
        .where('p.id = :id', { id: pspPaymentId })
        .getOne();
      if (!payment || payment.status !== 'processing') return null;
      const now = new Date();
      const status = payment.paymentMethod === 'pm_card_declined' ? 'failed' : 'completed';
      await manager.update(PspPayment, payment.id, { status, settledAt: now });
      const type: PspEventType = status === 'completed' ? 'payment.completed' : 'payment.failed';
      const id = prefixedId('evt');
      const row = manager.create(PspEvent, {
        id,
        type,
        paymentId: payment.id,
        createdAt: now,
        callbackUrl: payment.callbackUrl,
        deliveryStatus: payment.callbackUrl ? 'pending' : 'none',
        deliveryAttempts: 0,
        payload: {
          event_id: id,
          type,
          created_at: now.toISOString(),
          data: {
            payment_id: payment.id,
            status,
            amount: payment.amount,
            currency: payment.currency,
            metadata: payment.metadata,
          },
        },
      });
      await manager.save(row);
      this.logger.log(`PSP payment ${payment.id} settled ${status}; event ${id}`);
      return row;
    });
    if (event?.deliveryStatus === 'pending') await this.sender.enqueue([event.id]);
    return event;
  }

  /** Processing payments whose settlement job must have been lost (e.g. Redis flushed). */
  async sweepUnsettled(limit = 500): Promise<number> {
    const graceMs = this.settleDelay.max + 30_000;
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM psp_payments WHERE status = 'processing' AND created_at < now() - make_interval(secs => $1 / 1000.0)
       ORDER BY created_at LIMIT $2`,
      [graceMs, limit],
    );
    for (const { id } of rows) await this.scheduleSettlement(id, 0);
    if (rows.length > 0) this.logger.warn(`Rescheduled settlement of ${rows.length} overdue PSP payment(s)`);
    return rows.length;
  }

  private drawDelay(): number {
    const { min, max } = this.settleDelay;
    return min + Math.floor(Math.random() * (max - min + 1));
  }
}
