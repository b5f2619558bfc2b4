import {
  breakEven,
  cheapestAtLag,
  droppedLagCdf,
  droppedLagPercentile,
  droppedMixPolls,
  droppedPaymentPolls,
  equalLagInterval,
  expectedFallbackPolls,
  expectedPolls,
  fallbackPollTimes,
  fitCommonSlope,
  fitLine,
  percentile,
  shortPollCpu,
  shortPollLag,
  tiedAtLag,
} from './sweep-model.js';
import { lagSample, type TimelineEntry } from './measure.js';
import {
  analyseSweep,
  DEFAULT_PSP_CLIENT_CONNECTIONS,
  DROP_SHARE,
  lagTarget,
  REAL_DEADLINE_MS,
  suitableCells,
  sweepProfiles,
  sweepSideBySide,
  sweepStrategies,
  sweepTable,
  type SweepRecord,
  type SweepRun,
} from './sweep.js';
import type { Result } from './measure.js';

describe('the sweep model', () => {
  it('counts short polls per payment as E[⌈D / I⌉] over a uniform settlement', () => {
    // D uniform on [1 s, 3 s], polls every 1 s: ⌈D⌉ is 2 or 3, each half the time.
    expect(expectedPolls({ min: 1000, max: 3000 }, 1000)).toBeCloseTo(2.5, 6);
    // An interval longer than any settlement: one poll.
    expect(expectedPolls({ min: 200, max: 1500 }, 2000)).toBeCloseTo(1, 6);
    // Monte Carlo agrees on an awkward case.
    const d = { min: 5000, max: 60_000 };
    let sum = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) sum += Math.ceil((d.min + ((i + 0.5) / n) * (d.max - d.min)) / 7000);
    expect(expectedPolls(d, 7000)).toBeCloseTo(sum / n, 3);
  });

  it('counts the webhook fallback polls made before the payment settles', () => {
    expect(fallbackPollTimes(7000, 5)).toEqual([7000, 8000, 10_000, 14_000, 22_000]);
    // Everything settles before the 7 s deadline: no fallback poll.
    expect(expectedFallbackPolls({ min: 200, max: 1500 }, 7000)).toBe(0);
    // D uniform on [7.5 s, 9.5 s]: the poll at 7 s always, the one at 8 s three quarters of the time.
    expect(expectedFallbackPolls({ min: 7500, max: 9500 }, 7000)).toBeCloseTo(1.75, 6);
  });

  it('counts the fallback polls of dropped webhooks: until a poll finds the payment final', () => {
    // D uniform on [7.5 s, 9.5 s], polls at 7, 8, 10 s: found at 8 s a quarter of the time (2 polls), else at 10 s (3).
    expect(droppedPaymentPolls({ min: 7500, max: 9500 }, 7000)).toBeCloseTo(2.75, 6);
    // Settled before the deadline: the poll at the deadline finds it.
    expect(droppedPaymentPolls({ min: 200, max: 1500 }, 7000)).toBeCloseTo(1, 6);
    // 30 % dropped: 70 % poll until they settle (1.75), 30 % until found (2.75).
    expect(droppedMixPolls({ min: 7500, max: 9500 }, 7000, 0.3)).toBeCloseTo(0.7 * 1.75 + 0.3 * 2.75, 6);
    expect(droppedMixPolls({ min: 200, max: 1500 }, 7000, 0.3)).toBeCloseTo(0.3, 6);
    // Monte Carlo over 3-D Secure's range agrees.
    const d = { min: 5000, max: 60_000 };
    const times = fallbackPollTimes(7000, 20);
    let sum = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const D = d.min + ((i + 0.5) / n) * (d.max - d.min);
      sum += times.findIndex((t) => t >= D) + 1;
    }
    expect(droppedPaymentPolls(d, 7000)).toBeCloseTo(sum / n, 3);
  });

  it('puts the dropped webhooks’ lag at the fallback poll after settling', () => {
    const cards = { min: 200, max: 1500 };
    // Found by the poll at 7 s: lag 7 s − D, uniform on [5.5 s, 6.8 s].
    expect(droppedLagCdf(cards, 7000, 5500)).toBeCloseTo(0, 9);
    expect(droppedLagCdf(cards, 7000, 6150)).toBeCloseTo(0.5, 9);
    expect(droppedLagCdf(cards, 7000, 6800)).toBeCloseTo(1, 9);
    const webhook = Array.from({ length: 100 }, () => 100);
    // 30 % dropped: the p95 is the dropped ones' 1 − 5/30 quantile, plus the poll's work.
    expect(droppedLagPercentile(cards, 7000, 0.3, webhook, 0)).toBeCloseTo(5500 + (5 / 6) * 1300, 3);
    expect(droppedLagPercentile(cards, 7000, 0.3, webhook, 50)).toBeCloseTo(5550 + (5 / 6) * 1300, 3);
    // 4 % dropped: the p95 is a delivered webhook's lag.
    expect(droppedLagPercentile(cards, 7000, 0.04, webhook, 50)).toBeCloseTo(100, 3);
    // Monte Carlo over 3-D Secure's range (the back-off's 1, 2, 4 … s gaps) agrees.
    const d = { min: 5000, max: 60_000 };
    const times = fallbackPollTimes(7000, 20);
    const lags: number[] = [];
    // 30 % dropped: 30,000 drawn over the range, 70,000 delivered at 100 ms.
    const n = 30_000;
    for (let i = 0; i < n; i++) {
      const D = d.min + ((i + 0.5) / n) * (d.max - d.min);
      lags.push(times.find((t) => t >= D)! - D + 20);
    }
    for (let i = 0; i < 70_000; i++) lags.push(100);
    expect(droppedLagPercentile(d, 7000, 0.3, webhook, 20) / percentile(lags, 95)).toBeCloseTo(1, 3);
  });

  it('fits a line, and refuses points that do not differ in x', () => {
    const fit = fitLine([
      { x: 1, y: 12 },
      { x: 3, y: 16 },
      { x: 5, y: 20 },
    ]);
    expect(fit?.slope).toBeCloseTo(2, 9);
    expect(fit?.intercept).toBeCloseTo(10, 9);
    const common = fitCommonSlope([
      [
        { x: 1, y: 12 },
        { x: 3, y: 16 },
      ],
      [
        { x: 2, y: 30 },
        { x: 4, y: 34 },
      ],
    ]);
    expect(common?.slope).toBeCloseTo(2, 9);
    expect(common?.intercepts[0]).toBeCloseTo(10, 9);
    expect(common?.intercepts[1]).toBeCloseTo(26, 9);
    expect(
      fitLine([
        { x: 2, y: 1 },
        { x: 2, y: 5 },
      ]),
    ).toBeNull();
  });

  it('finds the interval whose p95 lag meets the target, and none when the fixed part misses it', () => {
    // 20 payments: settled at evenly spread points of the interval, 100 ms of work each.
    const samples = Array.from({ length: 20 }, (_, i) => ({ u: (i + 1) / 20, workMs: 100 }));
    // p95 is the 19th of 20: u = 0.95 → lag = 0.95 I + 100.
    expect(shortPollLag(samples, 1000)).toBeCloseTo(1050, 6);
    expect(equalLagInterval(samples, 1050)).toBeCloseTo(1000, 3);
    expect(equalLagInterval(samples, 90)).toBeNull();
  });

  it('puts the break-even interval where short polling costs what the webhook does', () => {
    const d = { min: 1000, max: 3000 };
    const cost = { baseMs: 10, perPollMs: 2 };
    // Webhook 15 ms: (15 − 10) / 2 = 2.5 polls per payment, which E[⌈D / I⌉] reaches at I = 1 s.
    const be = breakEven(cost, 15, d);
    expect(be.polls).toBeCloseTo(2.5, 9);
    expect(be.intervalMs).toBeCloseTo(1000, 0);
    expect(shortPollCpu(cost, d, be.intervalMs!)).toBeCloseTo(15, 3);
    // Longer intervals are cheaper than the webhook.
    expect(shortPollCpu(cost, d, 1500)).toBeLessThan(15);
    // One poll already costs more than the webhook: no break-even interval.
    expect(breakEven(cost, 11, d).intervalMs).toBeNull();
    // A per-poll cost lost in the noise: none either.
    expect(breakEven({ baseMs: 10, perPollMs: -1 }, 15, d).intervalMs).toBeNull();
  });

  it('picks the cheapest strategy among those within the lag target', () => {
    const candidates = [
      { strategy: 'webhook', lagP95Ms: 300, cpuMs: 20 },
      { strategy: 'short_polling', lagP95Ms: 320, cpuMs: 18 },
      { strategy: 'long_polling', lagP95Ms: 900, cpuMs: 10 },
    ];
    expect(cheapestAtLag(candidates, 300)?.strategy).toBe('short_polling');
    expect(cheapestAtLag(candidates, 1000)?.strategy).toBe('long_polling');
    expect(cheapestAtLag(candidates, 100)).toBeNull();
    // Within 15 % of the cheapest's CPU is a tie; out of the lag target is not.
    expect(tiedAtLag(candidates, 300).map((c) => c.strategy)).toEqual(['short_polling', 'webhook']);
    expect(tiedAtLag([...candidates, { strategy: 'x', lagP95Ms: 100, cpuMs: 21 }], 300).map((c) => c.strategy)).toEqual(
      ['short_polling', 'webhook'],
    );
    expect(tiedAtLag(candidates, 100)).toEqual([]);
  });

  it('splits a short-polled payment’s lag where its finding poll fell due', () => {
    const at = (ms: number) => new Date(ms).toISOString();
    const timeline: TimelineEntry[] = [
      { type: 'created', at: at(0), detail: {} },
      { type: 'poll_result', at: at(300), detail: { poll: 1, found: 'nothing new' } },
      { type: 'poll_result', at: at(620), detail: { poll: 2 } },
    ];
    // Due at 300 + 250 = 550; settled at 450: waited 100 of 250 ms; final at 650: 100 ms of work.
    expect(lagSample(timeline, 450, 650, 250)).toEqual({ u: 0.4, workMs: 100 });
  });
});

describe('the sweep verdicts', () => {
  const result = (over: Partial<Result>): Result =>
    ({
      n: 10,
      resolved: 10,
      lagsMs: [100, 100, 100],
      psp: { cpuMs: 5 },
      shop: { cpuMs: 10 },
      polls: 0,
      lagSamples: [],
      ...over,
    }) as Result;
  const samples = Array.from({ length: 20 }, (_, i) => ({ u: (i + 1) / 20, workMs: 50 }));
  const runs: SweepRun[] = [];
  for (const [profile, polls] of [
    ['cards', 2],
    ['3ds', 4],
    ['bank', 8],
  ] as const) {
    // Short polling: 10 ms + 1 ms per poll (PSP + shop), so the fit has to find 1 ms per poll.
    runs.push({ profile, rate: 5, strategy: 'webhook', result: result({}) });
    // Thin webhook + fetch: one fetch per payment; within the noise of the webhook on cards, dearer elsewhere.
    runs.push({
      profile,
      rate: 5,
      strategy: 'thin_webhook',
      result: result({
        polls: 1,
        lagsMs: [90],
        ...(profile === 'cards'
          ? { psp: { cpuMs: 6.5 }, shop: { cpuMs: 10 } }
          : { psp: { cpuMs: 10 }, shop: { cpuMs: 20 } }),
      } as Partial<Result>),
    });
    runs.push({
      profile,
      rate: 5,
      strategy: 'short_polling',
      result: result({
        polls,
        psp: { cpuMs: 4 + polls / 2 },
        shop: { cpuMs: 6 + polls / 2 },
        lagSamples: samples,
      } as Partial<Result>),
    });
  }
  runs.push({ profile: 'cards', rate: 5, strategy: 'long_polling', result: result({ polls: 1, lagsMs: [200] }) });
  const record: SweepRecord = {
    intervalMs: 250,
    arrivalS: 1,
    rates: [5],
    profiles: sweepProfiles(),
    runs,
    durationS: 1,
  };
  const a = analyseSweep(record);

  it('fits the per-poll cost over the profiles’ short-poll runs', () => {
    expect(a.fits[0].cost?.perPollMs).toBeCloseTo(1, 9);
    expect(a.fits[0].cost?.baseMs).toBeCloseTo(10, 9);
    expect(a.fits[0].pooled).toBe(false);
  });

  it('takes the fit over every rate for a rate whose own runs show no per-poll cost', () => {
    // At 40/s the short-poll runs cost the same whatever the polls: no slope of their own.
    const flat = runs
      .filter((r) => r.strategy === 'short_polling')
      .map((r) => ({ ...r, rate: 40, result: { ...r.result, psp: { cpuMs: 8 }, shop: { cpuMs: 8 } } as Result }));
    const both = analyseSweep({ ...record, rates: [5, 40], runs: [...runs, ...flat] });
    const at40 = both.fits.find((f) => f.rate === 40)!;
    expect(at40.pooled).toBe(true);
    // One slope over both rates (1 at 5/s, 0 at 40/s → 0.5), 40/s keeping its own base.
    expect(at40.cost?.perPollMs).toBeCloseTo(0.5, 9);
    expect(at40.cost?.baseMs).toBeCloseTo(16 - 0.5 * (14 / 3), 9);
    expect(both.fits.find((f) => f.rate === 5)?.pooled).toBe(false);
  });

  it('holds every strategy to the profile’s lag target and names the cheapest', () => {
    const cards = a.rows.find((r) => r.profile.key === 'cards')!;
    // Webhook p95 100 ms is above 10 % of 200 ms: the target is the webhook's lag.
    expect(cards.targetMs).toBe(100);
    // 0.95 I + 50 ≤ 100 → I ≈ 53 ms: below SHORT_POLL_INTERVAL_MS's 100 ms, so short polling cannot.
    expect(cards.equalLagIntervalMs).toBeNull();
    // Long polling lags 200 ms, out of the target: the webhook is cheapest.
    expect(cards.cheapest?.strategy).toBe('webhook');
    const bank = a.rows.find((r) => r.profile.key === 'bank')!;
    expect(bank.targetMs).toBe(lagTarget(100, { min: 120_000, max: 1_800_000 }));
    expect(bank.targetMs).toBe(12_000);
    // Webhook 15 ms + its fallback polls at 1 ms each; long polls every 10 s at 1 ms each.
    const webhook = bank.candidates.find((c) => c.strategy === 'webhook')!;
    expect(webhook.cpuMs).toBeCloseTo(15 + bank.webhookFallbackPolls, 9);
    expect(bank.webhookFallbackPolls).toBeGreaterThan(20);
    const long = bank.candidates.find((c) => c.strategy === 'long_polling')!;
    expect(long.cpuMs).toBeCloseTo(15 + expectedPolls({ min: 120_000, max: 1_800_000 }, 10_000) - 1, 9);
    expect(bank.cheapest?.cpuMs).toBe(Math.min(...bank.candidates.map((c) => c.cpuMs)));
    // Break-even: short polling at it costs what the webhook (with its fallback polls) does.
    expect(shortPollCpu(bank.cost!, bank.profile.settleMs, bank.breakEven.intervalMs!)).toBeCloseTo(webhook.cpuMs, 3);
  });

  it('runs the thin webhook like the webhook, its fallback polls counted', () => {
    // Run on every profile, as the webhook is; long polling on cards only.
    expect(sweepStrategies('cards')).toEqual(['webhook', 'thin_webhook', 'short_polling', 'long_polling']);
    expect(sweepStrategies('3ds')).toEqual(['webhook', 'thin_webhook', 'short_polling']);
    expect(sweepStrategies('bank')).toEqual(['webhook', 'thin_webhook', 'short_polling']);
    const cards = a.rows.find((r) => r.profile.key === 'cards')!;
    const thinCards = cards.candidates.find((c) => c.strategy === 'thin_webhook')!;
    expect(thinCards).toMatchObject({ cpuMs: 16.5, requests: 2, lagP95Ms: 90 });
    // 16.5 ms is within 15 % of the webhook's 15 ms, at its lag: a tie.
    expect(cards.tied.map((c) => c.strategy)).toEqual(['webhook', 'thin_webhook']);
    const bank = a.rows.find((r) => r.profile.key === 'bank')!;
    const thinBank = bank.candidates.find((c) => c.strategy === 'thin_webhook')!;
    expect(thinBank.cpuMs).toBeCloseTo(30 + bank.webhookFallbackPolls, 9);
    expect(thinBank.requests).toBeCloseTo(2 + bank.webhookFallbackPolls, 9);
    const cells = suitableCells(a);
    expect(cells['thin webhook + fetch']).toBe('cheapest at equal lag (or within 15 %) for cards @ 5/s');
    expect(sweepTable(a)).toContain('webhook ≈ thin webhook + fetch');
    // Without its runs (a record from before), it is no candidate.
    const older = analyseSweep({ ...record, runs: runs.filter((r) => r.strategy !== 'thin_webhook') });
    expect(older.rows[0].candidates.some((c) => c.strategy === 'thin_webhook')).toBe(false);
  });

  it('derives the dropped-webhook column from the webhook run and the per-poll cost', () => {
    const bank = a.rows.find((r) => r.profile.key === 'bank')!;
    const d = bank.profile.settleMs;
    const dropped = bank.candidates.find((c) => c.strategy === 'webhook_dropped')!;
    expect(dropped.derived).toBe(true);
    // 70 % polled until they settle, 30 % until a poll finds them: one poll more each, at 1 ms.
    expect(bank.dropped.polls).toBeCloseTo(bank.webhookFallbackPolls + DROP_SHARE, 9);
    expect(dropped.cpuMs).toBeCloseTo(15 + bank.webhookFallbackPolls + DROP_SHARE, 9);
    expect(dropped.requests).toBeCloseTo(1 + bank.webhookFallbackPolls, 9);
    // The poll's work is the short-poll samples' median (50 ms).
    expect(bank.dropped.pollWorkMs).toBe(50);
    expect(dropped.lagP95Ms).toBeCloseTo(droppedLagPercentile(d, REAL_DEADLINE_MS, 0.3, [100, 100, 100], 50), 9);
    const cards = a.rows.find((r) => r.profile.key === 'cards')!;
    const droppedCards = cards.candidates.find((c) => c.strategy === 'webhook_dropped')!;
    expect(droppedCards.lagP95Ms).toBeCloseTo(5550 + (5 / 6) * 1300, 3);
    expect(droppedCards.cpuMs).toBeCloseTo(15.3, 9);
    // Never within a target here: never the cheapest, and the cell says so with its lags.
    expect(a.rows.every((r) => !r.tied.some((c) => c.strategy === 'webhook_dropped'))).toBe(true);
    const cell = suitableCells(a)['webhook, 30 % dropped + fallback'];
    expect(cell).toMatch(/^derived .*: never at equal lag; lag p95 at 5\/s: cards 6\.6 s \(target 100 ms\) · 3ds /);
    expect(sweepTable(a)).toContain('derived: 15.3 ms · 1.00 req · 6.6 s (0.30 fallback polls)');
    // Where its lag meets the target, it is a candidate like any other: bank transfers all
    // settling at 2 min are found by the poll at 130 s, 10 s later (+ 50 ms): within 12 s.
    const at2min = analyseSweep({
      ...record,
      profiles: record.profiles.map((p) => (p.key === 'bank' ? { ...p, settleMs: { min: 120_000, max: 120_000 } } : p)),
    });
    const row = at2min.rows.find((r) => r.profile.key === 'bank')!;
    expect(row.candidates.find((c) => c.strategy === 'webhook_dropped')!.lagP95Ms).toBeCloseTo(10_050, 3);
    expect(row.tied.map((c) => c.strategy)).toContain('webhook_dropped');
    expect(suitableCells(at2min)['webhook, 30 % dropped + fallback']).toMatch(
      /^derived .*: cheapest at equal lag \(or within 15 %\) for bank @ 5\/s; lag p95 at 5\/s: .* · bank 10\.1 s \(target 12\.0 s\)$/,
    );
  });

  it('fills the seed table’s row and sets the run before beside this one', () => {
    const cells = suitableCells(a);
    expect(cells.webhook).toContain('cards @ 5/s');
    expect(cells.short_polling).toMatch(/break-even interval at 5\/s: cards .* · 3ds .* · bank /);
    expect(cells.long_polling).toContain(`bank ${Math.round((5 * 960_000) / 1000)}`);
    // Long polling's held connections beyond the shop's default pool are named in the verdict.
    const table = sweepTable(a);
    expect(DEFAULT_PSP_CLIENT_CONNECTIONS).toBe(64);
    const longWins = analyseSweep({
      ...record,
      runs: record.runs.map((r) =>
        r.strategy === 'long_polling'
          ? { ...r, result: { ...r.result, lagsMs: [50], psp: { cpuMs: 1 } } as Result }
          : r,
      ),
    });
    const tds = longWins.rows.find((r) => r.profile.key === '3ds')!;
    expect(tds.cheapest?.strategy).toBe('long_polling');
    expect(sweepTable(longWins)).toMatch(
      /agrees: long polling .*holds 163 connections at once: PSP_CLIENT_CONNECTIONS/,
    );
    expect(table).not.toContain('holds 4 connections');
    const side = sweepSideBySide(a, a);
    expect(side).toContain('instant cards · 5/s');
    expect(side).toContain('webhook → webhook');
  });
});
