import { runDelivery } from './delivery-worker.js';
import { DeliveryDeferred } from './webhook-dispatcher.js';

describe('runDelivery', () => {
  const logger = () => {
    const lines: unknown[] = [];
    return { lines, error: (line: unknown) => void lines.push(line) };
  };

  it('answers what the attempt answered, and logs nothing of its own', async () => {
    const log = logger();
    await expect(runDelivery({ attempt: () => Promise.resolve('succeeded') }, log, 'shop', 'd-1')).resolves.toBe(
      'succeeded',
    );
    expect(log.lines).toEqual([]);
  });

  it('passes a DeliveryDeferred on to Bull without a line (the dispatcher has logged the attempt)', async () => {
    const log = logger();
    const deferred = new DeliveryDeferred('HTTP 500; next attempt in 5000 ms', 5000, true);
    await expect(runDelivery({ attempt: () => Promise.reject(deferred) }, log, 'shop', 'd-1')).rejects.toBe(deferred);
    expect(log.lines).toEqual([]);
  });

  it('logs any other error with the delivery id and when it runs again, and passes it on to Bull', async () => {
    const log = logger();
    const err = new Error('attempt 1 (HTTP 204 in 3 ms) could not be recorded: connection terminated');
    await expect(runDelivery({ attempt: () => Promise.reject(err) }, log, 'psp', 'd-2')).rejects.toBe(err);
    expect(log.lines).toEqual([
      {
        msg: 'Delivery d-2 (psp) did not complete, tried again in 5 s: attempt 1 (HTTP 204 in 3 ms) could not be recorded: connection terminated',
        deliveryId: 'd-2',
      },
    ]);
  });
});
