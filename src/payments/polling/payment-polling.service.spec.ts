import type { AttentionNotice, PaymentAttention } from '../payment-attention.js';
import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { Queue } from 'bull';
import { Registry } from 'prom-client';
import type { DataSource, EntityManager } from 'typeorm';
import type { AllConfig } from '../../config/env.js';
import type { Payment } from '../payment.entity.js';
import { PaymentsMetrics } from '../payments-metrics.js';
import type { NewTimelineEntry, PaymentsRepository } from '../payments.repository.js';
import type { PspResult, PspResultsService } from '../psp-results.service.js';
import type { PspClient, PspPaymentView } from '../psp/psp.client.js';
import { PaymentPollingService, type PollJob } from './payment-polling.service.js';

const PAYMENT = '00000000-0000-4000-8000-00000000000a';
const GIVE_UP_MS = 60_000;

/** PaymentPollingService over a fake repository holding `payment`, and a PSP answering `answer`. */
function pollingWith(payment: Partial<Payment>, answer: () => Promise<PspPaymentView>) {
  const calls: string[] = [];
  const timeline: NewTimelineEntry[] = [];
  const applied: PspResult[] = [];
  const stored = {
    id: PAYMENT,
    orderId: 'order',
    status: 'processing',
    strategy: 'webhook',
    pspPaymentId: 'pay_1',
    pollCount: 0,
    createdAt: new Date(),
    ...payment,
  } as Payment;
  const repository: Partial<PaymentsRepository> = {
    findById: () => Promise.resolve(stored),
    writeTimeline: (_manager, entries) => {
      timeline.push(...entries);
      return Promise.resolve();
    },
    schedulePoll: (_id, n) => {
      calls.push(`schedule #${n}`);
      return Promise.resolve();
    },
    stopPolling: (_id, n, reason) => {
      calls.push(`stop #${n}: ${reason}`);
      return Promise.resolve();
    },
    finishPolling: (_manager, _id, n) => {
      calls.push(`finish #${n}`);
      return Promise.resolve();
    },
  };
  const results: Partial<PspResultsService> = {
    applyPspResult: (_manager, result) => {
      applied.push(result);
      return Promise.resolve({ applied: true, status: 'succeeded' });
    },
  };
  const db = { transaction: (work: (m: EntityManager) => unknown) => work({} as EntityManager) } as DataSource;
  const settings: Record<string, number> = {
    SHORT_POLL_INTERVAL_MS: 1000,
    LONG_POLL_WAIT_S: 5,
    POLL_GIVE_UP_MS: GIVE_UP_MS,
  };
  const config = { get: (key: string) => settings[key] };
  const metrics = new PaymentsMetrics(new Registry());
  const service = new PaymentPollingService(
    db,
    {} as Queue<PollJob>,
    repository as PaymentsRepository,
    results as PspResultsService,
    { getPayment: answer } as Partial<PspClient> as PspClient,
    config as unknown as ConfigService<AllConfig, true>,
    metrics,
    {
      publish: (_m: EntityManager, notice: AttentionNotice) =>
        Promise.resolve(void calls.push(`attention: ${notice.reason} ${notice.paymentId}`)),
    } as unknown as PaymentAttention,
  );
  return { service, calls, timeline, applied, metrics };
}

const view = (status: PspPaymentView['status']): PspPaymentView => ({
  id: 'pay_1',
  status,
  amount: 1500,
  currency: 'EUR',
});

describe('PaymentPollingService.poll', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('applies a final answer as a fallback poll result and stops polling', async () => {
    const { service, calls, applied, metrics } = pollingWith({}, () => Promise.resolve(view('completed')));
    expect(await service.poll({ paymentId: PAYMENT, poll: 0 })).toBe('final');
    expect(applied.map((r) => [r.via, r.pspStatus])).toEqual([['fallback_poll', 'completed']]);
    expect(calls).toEqual(['finish #1']);
    expect((await metrics.polls.get()).values).toEqual([
      { labels: { via: 'fallback_poll', result: 'final' }, value: 1 },
    ]);
  });

  it('records "nothing new" and schedules the next poll while the PSP says processing', async () => {
    const { service, calls, timeline } = pollingWith({ strategy: 'short_polling' }, () =>
      Promise.resolve(view('processing')),
    );
    expect(await service.poll({ paymentId: PAYMENT, poll: 0 })).toBe('processing');
    expect(timeline).toMatchObject([{ type: 'poll_result', detail: { via: 'short_poll', found: 'nothing new' } }]);
    expect(calls).toEqual(['schedule #1']);
  });

  it('skips a stale job (the payment was polled since)', async () => {
    const { service, calls } = pollingWith({ pollCount: 3 }, () => Promise.resolve(view('completed')));
    expect(await service.poll({ paymentId: PAYMENT, poll: 2 })).toBe('skipped');
    expect(calls).toEqual([]);
  });

  it('gives up on a payment older than POLL_GIVE_UP_MS when the PSP fails', async () => {
    const { service, calls } = pollingWith({ createdAt: new Date(Date.now() - GIVE_UP_MS - 1000) }, () =>
      Promise.reject(new Error('connect ECONNREFUSED')),
    );
    expect(await service.poll({ paymentId: PAYMENT, poll: 0 })).toBe('error');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatch(/^stop #1: no final result from the PSP after 1 poll\(s\) in \d+ s \(fallback_poll\)/);
    expect(calls[1]).toBe(`attention: polling_gave_up ${PAYMENT}`);
  });
});
