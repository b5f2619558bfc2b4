import type { DeliveryAttempt } from './delivery/delivery-attempt.js';
import { DeliveryDeferred, UNEXPECTED_ERROR_RETRY_MS } from './delivery/delivery-job.js';
import type { WebhookOutbox } from './webhook-outbox.js';
import { DirectSender } from './direct-sender.js';

describe('DirectSender', () => {
  const setup = (run: () => Promise<string>, enqueued = true) => {
    const attempts: unknown[][] = [];
    const jobs: unknown[][] = [];
    const attempt = { run: (...args: unknown[]) => (attempts.push(args), run()) } as unknown as DeliveryAttempt;
    const outbox = {
      enqueue: (...args: unknown[]) => (jobs.push(args), Promise.resolve(enqueued)),
    } as unknown as WebhookOutbox;
    return { sender: new DirectSender(attempt, outbox), attempts, jobs };
  };

  it('makes the first attempt itself and enqueues nothing when it needs nothing more', async () => {
    const { sender, attempts, jobs } = setup(() => Promise.resolve('succeeded'));
    await sender.firstAttempt('psp', 'd-1');
    expect(attempts).toEqual([['psp', 'd-1']]);
    expect(jobs).toEqual([]);
  });

  it("leaves the next attempt to the queue after the engine's wait when the first is deferred or failed", async () => {
    const { sender, jobs } = setup(() => Promise.reject(new DeliveryDeferred('HTTP 500', 5000, true)));
    await sender.firstAttempt('psp', 'd-2');
    expect(jobs).toEqual([['psp', [{ id: 'd-2', delayMs: 5000 }]]]);
  });

  it('tries again as Bull would after an unexpected error, and never throws', async () => {
    const { sender, jobs } = setup(() => Promise.reject(new Error('connection terminated')), false);
    await expect(sender.firstAttempt('psp', 'd-3')).resolves.toBeUndefined();
    expect(jobs).toEqual([['psp', [{ id: 'd-3', delayMs: UNEXPECTED_ERROR_RETRY_MS }]]]);
  });

  it('lets the first attempts under way finish before the module is destroyed', async () => {
    let finish!: (v: string) => void;
    const { sender, attempts } = setup(() => new Promise<string>((resolve) => (finish = resolve)));
    sender.send('psp', 'd-4');
    let destroyed = false;
    const destroying = sender.onModuleDestroy().then(() => (destroyed = true));
    await Promise.resolve();
    expect(attempts).toEqual([['psp', 'd-4']]);
    expect(destroyed).toBe(false);
    finish('succeeded');
    await destroying;
    expect(destroyed).toBe(true);
  });
});
