import type { SchedulerRegistry } from '@nestjs/schedule';
import type { PaymentsRepository } from '../payments.repository.js';
import type { PaymentPollingService } from './payment-polling.service.js';
import { POLL_IDLE_MAX_MS, POLL_TICK_MS, PollSchedulerTask } from './poll-scheduler.task.js';

describe('PollSchedulerTask.round', () => {
  const task = (dueInMs: number | null) => {
    let claims = 0;
    const polling = { claimDue: () => Promise.resolve(++claims) } as unknown as PaymentPollingService;
    const payments = { msUntilNextPoll: () => Promise.resolve(dueInMs) } as unknown as PaymentsRepository;
    const t = new PollSchedulerTask(polling, payments, {} as SchedulerRegistry);
    return { t, claims: () => claims };
  };

  it('claims what is due and looks again a tick later', async () => {
    const { t, claims } = task(-5);
    await expect(t.round()).resolves.toBe(POLL_TICK_MS);
    expect(claims()).toBe(1);
  });

  it('sleeps until the next poll is due, without claiming', async () => {
    const { t, claims } = task(420.3);
    await expect(t.round()).resolves.toBe(421);
    expect(claims()).toBe(0);
  });

  it('sleeps at most POLL_IDLE_MAX_MS, whether a poll is due later or none is pending', async () => {
    await expect(task(7000).t.round()).resolves.toBe(POLL_IDLE_MAX_MS);
    const none = task(null);
    await expect(none.t.round()).resolves.toBe(POLL_IDLE_MAX_MS);
    expect(none.claims()).toBe(0);
  });
});
