// The tables and charts of docs/webhooks-vs-polling.md, from a run's results.

import type { Complexity } from './complexity.js';
import type { Result } from './measure.js';
import { barChart } from './svg.js';
import { TOPOLOGY_LABEL, type Topology } from './stack.js';

export const pct = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
export const ms = (v: number) =>
  Number.isNaN(v) ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
const num = (v: number | null, digits = 2) => (v === null || Number.isNaN(v) ? '–' : v.toFixed(digits));
const kb = (v: number) => `${(v / 1024).toFixed(1)} KB`;

export function markdownTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.slice(1).map(line)].join('\n');
}

const via = (r: Result) =>
  `${r.resolved} / ${r.n}` +
  (Object.keys(r.byVia).length > 1
    ? ` (${Object.entries(r.byVia)
        .map(([v, n]) => `${n} ${v}`)
        .join(', ')})`
    : '');

export function realTimeTable(results: Result[]): string {
  return markdownTable([
    ['strategy', 'resolved / N', 'lag p50 · p95 · p99 · max (PSP settled → order final)'],
    ...results.map((r) => [
      r.scenario.name,
      via(r),
      [50, 95, 99].map((p) => ms(pct(r.lagsMs, p))).join(' · ') + ` · ${ms(r.lagsMs.at(-1) ?? NaN)}`,
    ]),
  ]);
}

export function serverLoadTable(results: Result[]): string {
  const single = results[0]?.topology === 'single';
  return markdownTable([
    [
      'strategy',
      'PSP: requests received · sent (webhooks) per payment',
      'PSP: bytes in · out per payment',
      single ? 'CPU per payment (PSP + shop, one process)' : 'PSP: CPU per payment',
      'shop: requests received (of them webhooks) · sent to the PSP per payment',
      'shop: bytes in · out per payment',
      single ? '' : 'shop: CPU per payment (API + worker)',
      'peak requests held at the PSP · at the shop',
      'polls that found nothing new per payment',
    ].filter((h, i) => !(single && i === 6)),
    ...results.map((r) =>
      [
        r.scenario.name,
        `${num(r.psp.received)} · ${num(r.psp.sent)}`,
        `${kb(r.psp.bytesIn)} · ${kb(r.psp.bytesOut)}`,
        single ? `${num(r.sharedCpuMs, 1)} ms` : `${num(r.psp.cpuMs, 1)} ms`,
        `${num(r.shop.received)} (${num(r.shop.webhooksReceived)}) · ${num(r.shop.sent)}`,
        `${kb(r.shop.bytesIn)} · ${kb(r.shop.bytesOut)}`,
        single ? null : `${num(r.shop.cpuMs, 1)} ms`,
        `${r.peakAtPsp}${r.cappedBy ? ` (capped by ${r.cappedBy})` : ''} · ${r.peakAtShop}`,
        num(r.emptyPolls / r.n),
      ].filter((c): c is string => c !== null),
    ),
  ]);
}

const find = (results: Result[], name: string) => results.find((r) => r.scenario.name === name);

/** The source material's table, each adjective beside the figure measured for it. */
export function seedTable(
  results: Result[],
  complexity: Record<string, string>,
  suitable: Record<string, string>,
): string {
  const cols: [string, string, string, string][] = [
    // [column, scenario, seed real-time, seed server load]
    ['short polling', 'short_polling', 'low', 'high'],
    ['long polling', 'long_polling', 'medium', 'medium'],
    ['webhooks', 'webhook', 'high', 'low'],
    ['webhooks, 30 % dropped + fallback', 'webhook, 30 % dropped + fallback', '–', '–'],
    ['thin webhook + fetch', 'thin webhook + fetch', '–', '–'],
  ];
  const seedComplexity: Record<string, string> = { short_polling: 'low', long_polling: 'medium', webhook: 'high' };
  const seedSuitable: Record<string, string> = {
    short_polling: 'low-frequency updates',
    long_polling: 'medium-frequency updates',
    webhook: 'real-time notifications',
  };
  const cell = (adjective: string, figure: string) => (adjective === '–' ? figure : `${adjective} → ${figure}`);
  return markdownTable([
    ['', ...cols.map((c) => c[0])],
    [
      'real-time (lag p50 · p95)',
      ...cols.map(([, name, adj]) => {
        const r = find(results, name);
        return cell(adj, r ? `${ms(pct(r.lagsMs, 50))} · ${ms(pct(r.lagsMs, 95))}` : '–');
      }),
    ],
    [
      'server load (PSP + shop requests · CPU per payment)',
      ...cols.map(([, name, , adj]) => {
        const r = find(results, name);
        if (!r) return cell(adj, '–');
        const requests = r.psp.received + r.psp.sent;
        const cpu = r.sharedCpuMs ?? (r.psp.cpuMs ?? 0) + (r.shop.cpuMs ?? 0);
        return cell(adj, `${requests.toFixed(2)} req · ${cpu.toFixed(1)} ms`);
      }),
    ],
    [
      'implementation complexity',
      ...cols.map(([, name]) =>
        cell(seedComplexity[name.split(',')[0]] ?? '–', complexity[name] ?? 'not computed yet'),
      ),
    ],
    [
      'suitable for',
      ...cols.map(([, name]) => cell(seedSuitable[name.split(',')[0]] ?? '–', suitable[name] ?? 'not measured yet')),
    ],
  ]);
}

/** The charts of one topology's run: file name → SVG. */
export function charts(topology: Topology, results: Result[]): Record<string, string> {
  const label = (r: Result) => r.scenario.name;
  return {
    [`${topology}-real-time.svg`]: barChart({
      title: `Real-time: lag PSP settled → order final (${topology})`,
      unit: 'ms',
      series: ['p50', 'p95'],
      bars: results.map((r) => ({ label: label(r), values: [pct(r.lagsMs, 50), pct(r.lagsMs, 95)] })),
      format: (v) => ms(v),
    }),
    [`${topology}-server-load.svg`]: barChart({
      title: `Server load: requests per payment (${topology})`,
      unit: 'requests',
      series: ['PSP received (shop → PSP)', 'PSP sent (webhooks)', 'shop received (webhooks + client)'],
      bars: results.map((r) => ({ label: label(r), values: [r.psp.received, r.psp.sent, r.shop.received] })),
      format: (v) => v.toFixed(2),
    }),
    [`${topology}-cpu.svg`]: barChart({
      title: `Server load: CPU ms per payment (${topology})`,
      unit: 'ms',
      series: topology === 'single' ? ['PSP + shop (one process)'] : ['PSP', 'shop (API + worker)'],
      bars: results.map((r) => ({
        label: label(r),
        values: topology === 'single' ? [r.sharedCpuMs ?? NaN] : [r.psp.cpuMs ?? NaN, r.shop.cpuMs ?? NaN],
      })),
      format: (v) => v.toFixed(1),
    }),
  };
}

export function topologySection(topology: Topology, results: Result[], dir: string): string {
  return [
    `### ${TOPOLOGY_LABEL[topology]}`,
    '',
    realTimeTable(results),
    '',
    serverLoadTable(results),
    '',
    `![real-time, ${topology}](${dir}/${topology}-real-time.svg)`,
    `![requests per payment, ${topology}](${dir}/${topology}-server-load.svg)`,
    `![CPU per payment, ${topology}](${dir}/${topology}-cpu.svg)`,
  ].join('\n');
}

/** The figure of the seed table's complexity row, per scenario (the dropped-webhook column is the webhook's code). */
export function complexityCells(rows: Complexity[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) {
    out[r.scenario] =
      `${r.shopFiles + r.pspFiles} files · ${r.shopLines + r.pspLines} lines · ` +
      `${r.movingParts.length} moving parts · ${r.failureModes} failure modes`;
  }
  if (out.webhook) out['webhook, 30 % dropped + fallback'] = out.webhook;
  if (out.thin_webhook) out['thin webhook + fetch'] = out.thin_webhook;
  return out;
}

export function complexityTable(rows: Complexity[], core: { files: number; lines: number }): string {
  return [
    markdownTable([
      ['strategy', 'shop: files · lines', 'PSP: files · lines', 'moving parts', 'failure modes (each with its test)'],
      ...rows.map((r) => [
        r.scenario,
        `${r.shopFiles} · ${r.shopLines}`,
        `${r.pspFiles} · ${r.pspLines}`,
        `${r.movingParts.length}: ${r.movingParts.join(', ')}`,
        String(r.failureModes),
      ]),
    ]),
    '',
    `Lines of code (not blank, not comments) beyond the core every strategy shares: ${core.files} files, ${core.lines} lines ` +
      '(start a payment at the PSP, apply a result, keep the timeline). The manifest, with every failure mode and ' +
      'its test: [scripts/compare/complexity-manifest.ts](../scripts/compare/complexity-manifest.ts).',
  ].join('\n');
}

export function complexityChart(rows: Complexity[]): string {
  return barChart({
    title: 'Implementation complexity: lines of code beyond the shared core, and failure modes',
    unit: '',
    series: ['shop lines', 'PSP lines', 'failure modes × 50'],
    bars: rows.map((r) => ({ label: r.scenario, values: [r.shopLines, r.pspLines, r.failureModes * 50] })),
    format: (v) => String(Math.round(v)),
  });
}
