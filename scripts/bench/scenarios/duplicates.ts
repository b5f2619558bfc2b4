// Scenario 2, duplicates: every event sent twice. A run of first deliveries, then the
// same events again (all duplicates, answered 200), in each round; for Hookline and,
// for context, the naive receiver. The duplicate path must not be slower.

import { signedRequests, uniqueEvents } from '../lib/events.js';
import { median, target, type Scenario } from '../lib/report.js';
import { startBaseline, startHookline } from '../lib/stack.js';
import {
  checkDurable,
  HOOKLINE_BENCH_ENV,
  measure,
  NAIVE_TABLE,
  resetInboxes,
  rowOf,
  type Measured,
  warmUp,
} from './ingest.js';

const POOL = 60_000;

export const duplicates: Scenario = {
  name: 'duplicates',
  async run(ctx) {
    const hookline = await startHookline(ctx.cfg, 'hookline-duplicates', 'api', HOOKLINE_BENCH_ENV);
    const naive = await startBaseline(ctx.cfg, 'naive', NAIVE_TABLE);
    const runs: Record<string, { first: Measured[]; dup: Measured[] }> = {
      hookline: { first: [], dup: [] },
      naive: { first: [], dup: [] },
    };
    try {
      await warmUp(ctx, [
        { name: 'hookline', proc: hookline, cycle: false },
        { name: 'naive', proc: naive, cycle: false },
      ]);
      for (let round = 0; round < ctx.rounds; round++) {
        for (const [name, proc] of [
          ['hookline', hookline],
          ['naive', naive],
        ] as const) {
          await resetInboxes(ctx);
          const events = uniqueEvents(ctx.quick ? POOL / 2 : POOL, `d${round}`);
          const first = await measure(ctx, proc, signedRequests(proc.url, events, 'first'));
          await checkDurable(ctx, first, name === 'hookline' ? 'webhook_inbox' : NAIVE_TABLE);
          // The same events again, as many as the first run sent (cycling over them if the
          // duplicate path is faster), each a redelivery.
          const again = signedRequests(proc.url, events.slice(0, first.sent), 'again');
          const dup = await measure(ctx, proc, again, true);
          const dupAccepted = dup.total['202'] ?? 0;
          if (dupAccepted > 0) throw new Error(`${name}: ${dupAccepted} redeliveries were accepted as new`);
          runs[name].first.push(first);
          runs[name].dup.push(dup);
          ctx.log(
            `duplicates round ${round + 1}/${ctx.rounds} ${name.padEnd(8)} first ${first.rps.toFixed(0)} req/s, duplicate ${dup.rps.toFixed(0)} req/s (p99 ${dup.p99Ms.toFixed(1)} ms)`,
          );
        }
      }
    } finally {
      await Promise.all([hookline.stop(), naive.stop()]);
    }
    const ratio = (name: string) => median(runs[name].dup.map((d, i) => d.rps / runs[name].first[i].rps));
    const rows = (name: string, label: string) => [
      rowOf('2 duplicates', `${label}: first deliveries`, runs[name].first, { ratio: 1, ratioOf: 'first' }),
      rowOf('2 duplicates', `${label}: every event again`, runs[name].dup, {
        ratio: ratio(name),
        ratioOf: 'first',
        note: 'all answered 200 duplicate',
      }),
    ];
    ctx.rows.push(...rows('hookline', 'Hookline'), ...rows('naive', 'naive'));
    const r = ratio('hookline');
    ctx.targets.push(
      target('2 duplicates', 'duplicates ≥ 1.0× first deliveries', { ratio: r }, (v) => ({
        measured: `${v.ratio.toFixed(2)}×`,
        met: v.ratio >= 1,
      })),
    );
  },
};
