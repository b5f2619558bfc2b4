import { DeliveryDeferred } from './delivery-job.js';
import { runDelivery } from './delivery.processor.js';

describe('runDelivery', () => {
  const job = (deliveryId: string, unrecorded?: number) => {
    const updates: unknown[] = [];
    return {
      updates,
      data: { deliveryId, ...(unrecorded === undefined ? {} : { unrecorded }) },
      update: (data: unknown) => Promise.resolve(void updates.push(data)),
    };
  };
  const logger = () => {
    const lines: unknown[] = [];
    return { lines, error: (line: unknown) => void lines.push(line) };
  };

  it('answers what the attempt answered, and logs nothing of its own', async () => {
    const log = logger();
    await expect(runDelivery({ run: () => Promise.resolve('succeeded') }, log, 'shop', job('d-1'))).resolves.toBe(
      'succeeded',
    );
    expect(log.lines).toEqual([]);
  });

  it('passes a DeliveryDeferred on to Bull without a line (the attempt has been logged)', async () => {
    const log = logger();
    const deferred = new DeliveryDeferred('HTTP 500; next attempt in 5000 ms', 5000, true);
    await expect(runDelivery({ run: () => Promise.reject(deferred) }, log, 'shop', job('d-1'))).rejects.toBe(deferred);
    expect(log.lines).toEqual([]);
  });

  it('logs any other error with the delivery id and when it runs again, and passes it on to Bull', async () => {
    const log = logger();
    const err = new Error('attempt 1 (HTTP 204 in 3 ms) could not be recorded: connection terminated');
    await expect(runDelivery({ run: () => Promise.reject(err) }, log, 'psp', job('d-2'))).rejects.toBe(err);
    expect(log.lines).toEqual([
      {
        msg: 'Delivery d-2 (psp) did not complete, tried again in 5 s: attempt 1 (HTTP 204 in 3 ms) could not be recorded: connection terminated',
        deliveryId: 'd-2',
      },
    ]);
  });

  it('passes the count of unrecorded attempts in a row to the attempt, and keeps the new one with the job', async () => {
    const log = logger();
    const j = job('d-3', 2);
    const seen: number[] = [];
    const deferred = new DeliveryDeferred(
      'attempt 4 (HTTP 200 in 5 ms) was sent but could not be recorded',
      20_000,
      true,
      3,
    );
    const attempt = {
      run: (_owner: string, _id: string, before?: number) => {
        seen.push(before ?? -1);
        return Promise.reject(deferred);
      },
    };
    await expect(runDelivery(attempt, log, 'shop', j)).rejects.toBe(deferred);
    expect(seen).toEqual([2]);
    expect(j.updates).toEqual([{ deliveryId: 'd-3', unrecorded: 3 }]);
    expect(log.lines).toEqual([]);
  });

  it('starts the count again once an attempt is recorded, and leaves it alone when nothing was sent', async () => {
    const recorded = job('d-4', 3);
    const failed = new DeliveryDeferred('HTTP 500; next attempt in 300000 ms', 300_000, true);
    await expect(runDelivery({ run: () => Promise.reject(failed) }, logger(), 'shop', recorded)).rejects.toBe(failed);
    expect(recorded.updates).toEqual([{ deliveryId: 'd-4', unrecorded: 0 }]);
    const limited = job('d-5', 3);
    const putOff = new DeliveryDeferred('rate limited', 700, false);
    await expect(runDelivery({ run: () => Promise.reject(putOff) }, logger(), 'shop', limited)).rejects.toBe(putOff);
    expect(limited.updates).toEqual([]);
  });

  it('keeps the rate-limit slot a deferral reserved with the job, and passes it to the attempt when it runs again', async () => {
    const j = job('d-6');
    const putOff = new DeliveryDeferred(
      'endpoint e-1 is at its rate limit (5/s)',
      1700,
      false,
      undefined,
      1_800_000_002,
    );
    await expect(runDelivery({ run: () => Promise.reject(putOff) }, logger(), 'shop', j)).rejects.toBe(putOff);
    expect(j.updates).toEqual([{ deliveryId: 'd-6', slot: 1_800_000_002 }]);
    const seen: (number | undefined)[] = [];
    const again = { ...j, data: { deliveryId: 'd-6', slot: 1_800_000_002 } };
    const run = (_o: string, _id: string, _b?: number, slot?: number) => Promise.resolve(String(seen.push(slot)));
    await runDelivery({ run }, logger(), 'shop', again);
    expect(seen).toEqual([1_800_000_002]);
  });
});
