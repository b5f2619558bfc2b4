import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/env.js';
import { ChaosService } from './chaos.service.js';
import type { PspSettingsRepository } from './psp-settings.repository.js';

const env: Record<string, number> = {
  PSP_SETTLE_DELAY_MIN_MS: 20,
  PSP_SETTLE_DELAY_MAX_MS: 80,
  PSP_DECLINE_RATE: 0,
  PSP_DROP_RATE: 0,
  PSP_DUPLICATE_RATE: 0,
  PSP_DELIVERY_DELAY_MIN_MS: 0,
  PSP_DELIVERY_DELAY_MAX_MS: 0,
  PSP_REORDER_RATE: 0,
  PSP_TAMPER_RATE: 0,
};
const config = { get: (key: string) => env[key] } as unknown as ConfigService<AllConfig, true>;

/** A settings table whose statements the test completes, in the order it chooses. */
function table() {
  let value: Record<string, unknown> = {};
  const pending: (() => void)[] = [];
  const repo = {
    valueOf: () =>
      new Promise<Record<string, unknown>>((resolve) => {
        const read = { ...value };
        pending.push(() => resolve(read));
      }),
    merge: (_key: string, fields: Record<string, unknown>) => {
      // Merged (and committed) at once, as the statement does; its answer arrives when the test says.
      value = { ...value, ...fields };
      const merged = { ...value };
      return new Promise<Record<string, unknown>>((resolve) => pending.push(() => resolve(merged)));
    },
    remove: () => Promise.resolve(void (value = {})),
  } as unknown as PspSettingsRepository;
  // A read served from the cache sends no statement: nothing to answer.
  return { repo, answer: (i: number) => pending[i]?.() };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('ChaosService', () => {
  it('after concurrent PUTs whose answers come back out of order, reads every field', async () => {
    const t = table();
    const chaos = new ChaosService(t.repo, config);
    const first = chaos.update({ tamperRate: 0.01 });
    const second = chaos.update({ settleDelayMs: { min: 3, max: 4 } });
    // The second merge's answer (both fields) arrives first, the first's (one field) last.
    t.answer(1);
    await flush();
    t.answer(0);
    expect(await second).toMatchObject({ tamperRate: 0.01, settleDelayMs: { min: 3, max: 4 } });
    expect(await first).toMatchObject({ tamperRate: 0.01, settleDelayMs: { min: 20, max: 80 } });
    const read = chaos.get();
    t.answer(2);
    expect(await read).toMatchObject({ tamperRate: 0.01, settleDelayMs: { min: 3, max: 4 } });
  });

  it('does not cache a read that a PUT overtook', async () => {
    const t = table();
    const chaos = new ChaosService(t.repo, config);
    const stale = chaos.get(); // reads before the PUT's merge
    const put = chaos.update({ dropRate: 0.5 });
    // The PUT returns first; the older read's answer arrives after it.
    t.answer(1);
    await put;
    t.answer(0);
    expect(await stale).toMatchObject({ dropRate: 0 });
    const read = chaos.get();
    t.answer(2);
    expect(await read).toMatchObject({ dropRate: 0.5 });
  });
});
