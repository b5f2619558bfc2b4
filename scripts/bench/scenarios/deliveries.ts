// Scenario 4, deliveries: the outbound engine to a local sink (deliveries/s with their
// attempts recorded) next to a bare Bull worker POSTing signed bodies with an undici
// pool and recording nothing. Target: ≥ 0.5× the baseline.
//
// NOT MEASURED YET: the outbound engine (src/webhooks/outbound) is being built. To fill
// this in: start a sink (test/utils/http-sink.ts style, answering 200), register it as
// an endpoint through the admin API, publish N messages, and time until N attempts are
// recorded; the baseline is a Bull queue of N jobs consumed by a worker that signs and
// POSTs with undici to the same sink.

import type { Scenario } from '../lib/report.js';

export const deliveries: Scenario = {
  name: 'deliveries',
  // eslint-disable-next-line @typescript-eslint/require-await
  async run(ctx) {
    ctx.log('deliveries: not measured yet (outbound engine pending)');
    ctx.rows.push({
      scenario: '4 deliveries',
      subject: 'outbound engine → local sink',
      note: 'not measured yet (outbound engine pending)',
    });
    ctx.targets.push({
      scenario: '4 deliveries',
      goal: '≥ 0.5× unrecorded Bull + undici baseline',
      measured: 'not measured yet (outbound engine pending)',
      met: null,
    });
  },
};
