import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { DataSource, EntityManager } from 'typeorm';
import { DomainError } from '../common/errors/domain-error.js';
import type { AllConfig } from '../config/env.js';
import type { Order } from '../orders/order.entity.js';
import type { OrdersService } from '../orders/orders.service.js';
import type { Payment } from './payment.entity.js';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import type { KeyedPayment, NewPayment, NewTimelineEntry, PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';
import type { PollWakeups } from './polling/poll-wakeups.js';
import type { PspClient } from './psp/psp.client.js';

const ORDER = '00000000-0000-4000-8000-0000000000a0';
const PAYMENT = '00000000-0000-4000-8000-00000000000a';

/** PaymentsService over a fake repository and a PSP that answers with `psp`. */
function serviceWith(
  psp: PspClient['createPayment'],
  fastStart: boolean | KeyedPayment = false,
  unsupported: PspClient['unsupported'] = () => null,
) {
  const calls: string[] = [];
  const timeline: NewTimelineEntry[] = [];
  const firstPolls: Date[] = [];
  const announced: Date[] = [];
  const repository: Partial<PaymentsRepository> = {
    tryStart: (_orderId, p) => {
      if (!fastStart) return Promise.resolve(null);
      calls.push('tryStart');
      if (typeof fastStart === 'object') return Promise.resolve({ kind: 'keyed' as const, keyed: fastStart });
      return Promise.resolve({
        kind: 'created' as const,
        payment: { ...p, orderId: ORDER, amount: 1500, currency: 'EUR', id: PAYMENT } as Payment,
      });
    },
    start: (_manager, p: NewPayment, detail) => {
      calls.push('insert');
      const createdAt = new Date();
      timeline.push({ paymentId: PAYMENT, type: 'created', at: createdAt, detail });
      return Promise.resolve({ kind: 'created' as const, payment: { ...p, id: PAYMENT, createdAt } as Payment });
    },
    markAccepted: (_manager, id, pspPaymentId, nextPollAt, entry) => {
      calls.push(`accepted ${pspPaymentId}`);
      firstPolls.push(nextPollAt);
      timeline.push({ paymentId: id, type: 'psp_accepted', ...entry });
      return Promise.resolve();
    },
    takeOver: (id) => {
      calls.push(`takeOver ${id}`);
      return Promise.resolve(true);
    },
    releaseKey: (_manager, id, key) => {
      calls.push(`releaseKey ${id} ${key.key}`);
      return Promise.resolve();
    },
    markRejected: (_manager, _id, reason) => {
      calls.push(`rejected ${reason}`);
      return Promise.resolve();
    },
    writeTimeline: (_manager, entries) => {
      timeline.push(...entries);
      return Promise.resolve();
    },
  };
  const orders: Partial<OrdersService> = {
    payableStatuses: ['pending_payment', 'payment_failed'],
    lockForPayment: () => Promise.resolve({ id: ORDER, amount: 1500, currency: 'EUR' } as Order),
  };
  const db = { transaction: (work: (m: EntityManager) => unknown) => work({} as EntityManager) } as DataSource;
  const config = { get: (key: string) => (key === 'PUBLIC_BASE_URL' ? 'http://shop' : 1000) };
  const service = new PaymentsService(
    db,
    repository as PaymentsRepository,
    orders as OrdersService,
    { createPayment: psp, unsupported } as PspClient,
    { announce: (dueAt: Date) => Promise.resolve(void announced.push(dueAt)) } as PollWakeups,
    config as unknown as ConfigService<AllConfig, true>,
  );
  return { service, calls, timeline, firstPolls, announced };
}

describe('PaymentsService.create', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('stores the payment before the PSP call, then records the PSP payment id', async () => {
    const { service, calls, timeline } = serviceWith((request, key) => {
      expect(key).toBe(PAYMENT);
      expect(request.callback_url).toBe('http://shop/webhooks/psp');
      return Promise.resolve({ id: 'pay_1', status: 'processing', amount: 1500, currency: 'EUR' });
    });
    const { payment } = await service.create(ORDER, {});
    expect(payment.pspPaymentId).toBe('pay_1');
    expect(calls).toEqual(['insert', 'accepted pay_1']);
    expect(timeline.map((e) => e.type)).toEqual(['created', 'psp_accepted']);
  });

  it("announces the first poll's due time to the workers once the PSP accepted the payment", async () => {
    const { service, firstPolls, announced } = serviceWith(() =>
      Promise.resolve({ id: 'pay_1', status: 'processing', amount: 1500, currency: 'EUR' }),
    );
    const before = Date.now();
    await service.create(ORDER, { strategy: 'long_polling' });
    expect(announced).toEqual(firstPolls);
    expect(announced[0].getTime()).toBeGreaterThanOrEqual(before);
    expect(announced[0].getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('refuses with 422 what the PSP cannot do (Stripe: long polling), before anything is stored or sent', async () => {
    const { service, calls } = serviceWith(
      () => Promise.reject(new Error('the PSP must not be called')),
      true,
      (strategy) => (strategy === 'long_polling' ? 'no long polling here' : null),
    );
    await expect(service.create(ORDER, { strategy: 'long_polling' })).rejects.toMatchObject({
      code: 'PAYMENT.UNSUPPORTED_BY_PSP',
      status: 422,
      message: 'no long polling here',
    });
    expect(calls).toEqual([]);
  });

  it('passes the next action of a payment that waits for the customer (3-D Secure) to the answer and timeline', async () => {
    const { service, timeline } = serviceWith(() =>
      Promise.resolve({
        id: 'pi_1',
        status: 'processing',
        provider_status: 'requires_action',
        amount: 1500,
        currency: 'EUR',
        next_action: { type: 'use_stripe_sdk' },
      }),
    );
    const { payment } = await service.create(ORDER, { paymentMethod: 'pm_card_3ds' });
    expect(payment.nextAction).toEqual({ type: 'use_stripe_sdk' });
    expect(timeline[1].detail).toMatchObject({ pspStatus: 'requires_action', nextAction: 'use_stripe_sdk' });
  });

  it("starts a payable order's payment in one repository call, outside a transaction", async () => {
    const { service, calls } = serviceWith(
      () => Promise.resolve({ id: 'pay_1', status: 'processing', amount: 1500, currency: 'EUR' }),
      true,
    );
    const { payment } = await service.create(ORDER, {});
    expect(payment).toMatchObject({ id: PAYMENT, pspPaymentId: 'pay_1' });
    expect(calls).toEqual(['tryStart', 'accepted pay_1']);
  });

  it('fails the payment when the PSP says no', async () => {
    const { service, calls } = serviceWith(() =>
      Promise.reject(new DomainError('PSP.REJECTED', 402, 'Payment rejected by the PSP')),
    );
    await expect(service.create(ORDER, {})).rejects.toMatchObject({
      code: 'PSP.REJECTED',
      extra: { paymentId: PAYMENT },
    });
    expect(calls).toEqual(['insert', 'rejected PSP.REJECTED']);
  });

  it('answers 409 PAYMENT.IN_PROGRESS, recording nothing, while another request hands the payment to the PSP', async () => {
    const { service, calls, timeline } = serviceWith(() =>
      Promise.reject(new DomainError('PSP.IN_PROGRESS', 409, 'Payment provider busy with this payment')),
    );
    await expect(service.create(ORDER, {})).rejects.toMatchObject({
      code: 'PAYMENT.IN_PROGRESS',
      status: 409,
      extra: { paymentId: PAYMENT },
    });
    expect(calls).toEqual(['insert']);
    expect(timeline.map((e) => e.type)).toEqual(['created']);
  });

  it('leaves the payment processing when the PSP outcome is unknown', async () => {
    const { service, calls, timeline } = serviceWith(() =>
      Promise.reject(new DomainError('PSP.UNAVAILABLE', 502, 'PSP unavailable')),
    );
    await expect(service.create(ORDER, {})).rejects.toMatchObject({ code: 'PSP.UNAVAILABLE' });
    expect(calls).toEqual(['insert']);
    expect(timeline.at(-1)).toMatchObject({
      type: 'psp_error',
      detail: { outcome: 'unknown: retry the request to resume this payment' },
    });
  });
});

describe('PaymentsService.create with an Idempotency-Key kept on the payment', () => {
  beforeAll(() => Logger.overrideLogger(false));
  const key: RequestKey = { scope: 'key:abc', key: 'k-1', requestHash: 'hash-1', ttlHours: 24 };
  const accepted = () => Promise.resolve({ id: 'pay_2', status: 'processing' as const, amount: 1500, currency: 'EUR' });
  const keyed = (over: Partial<Payment>, rest: Partial<KeyedPayment> = {}): KeyedPayment => ({
    payment: {
      id: PAYMENT,
      orderId: ORDER,
      status: 'succeeded',
      strategy: 'webhook',
      paymentMethod: 'pm_card_ok',
      amount: 1500,
      currency: 'EUR',
      pspPaymentId: 'pay_1',
      resolvedVia: 'webhook',
      failureReason: null,
      resolvedAt: new Date(),
      pollCount: 3,
      attentionReason: null,
      createdAt: new Date(),
      ...over,
    } as Payment,
    requestHash: 'hash-1',
    running: false,
    nextAction: null,
    ...rest,
  });

  it("answers a repeat with the key's payment as its first answer was, starting and sending nothing", async () => {
    const { service, calls } = serviceWith(
      () => Promise.reject(new Error('no PSP call')),
      keyed({}, { nextAction: 'use_stripe_sdk' }),
    );
    const { payment, repeatOf } = await service.create(ORDER, {}, key);
    expect(repeatOf).toEqual({ requestHash: 'hash-1', running: false });
    expect(payment).toMatchObject({
      status: 'processing',
      pspPaymentId: 'pay_1',
      resolvedVia: null,
      resolvedAt: null,
      pollCount: 0,
      nextAction: { type: 'use_stripe_sdk' },
    });
    expect(calls).toEqual(['tryStart']);
  });

  it('answers a repeat of another request, or of one still running, without taking anything over', async () => {
    for (const k of [
      keyed({ status: 'processing', pspPaymentId: null }, { requestHash: 'other' }),
      keyed({ status: 'processing', pspPaymentId: null }, { running: true }),
    ]) {
      const { service, calls } = serviceWith(() => Promise.reject(new Error('no PSP call')), k);
      const { repeatOf } = await service.create(ORDER, {}, key);
      expect(repeatOf).toEqual({ requestHash: k.requestHash, running: k.running });
      expect(calls).toEqual(['tryStart']);
    }
  });

  it('takes over the payment of a first request that stopped before the PSP answered, and resumes it', async () => {
    const { service, calls } = serviceWith(accepted, keyed({ status: 'processing', pspPaymentId: null }));
    const { payment, repeatOf } = await service.create(ORDER, {}, key);
    expect(repeatOf).toBeNull();
    expect(payment.pspPaymentId).toBe('pay_2');
    expect(calls).toEqual(['tryStart', `takeOver ${PAYMENT}`, 'accepted pay_2']);
  });

  it('gives the key up when the PSP call fails, so that a retry with it runs again', async () => {
    for (const code of ['PSP.REJECTED', 'PSP.UNAVAILABLE']) {
      const { service, calls } = serviceWith(() => Promise.reject(new DomainError(code, 502, 'PSP said no')));
      await expect(service.create(ORDER, {}, key)).rejects.toMatchObject({ code });
      expect(calls).toContain(`releaseKey ${PAYMENT} k-1`);
    }
  });
});
