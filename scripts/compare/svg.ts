// Bar charts as plain SVG text, drawn from the figures (no chart library).

export interface Bar {
  label: string;
  /** One value per series; NaN draws nothing. */
  values: number[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLOURS = ['#3b6fb6', '#d9480f', '#2b8a3e', '#7048e8'];

/** Horizontal grouped bars: one group per label, one bar per series, a shared linear axis. */
export function barChart(opts: {
  title: string;
  unit: string;
  series: string[];
  bars: Bar[];
  format: (v: number) => string;
}): string {
  const width = 900;
  const left = 300;
  const right = 90;
  const barH = 14;
  const groupH = opts.series.length * (barH + 3) + 14;
  const top = 50;
  const height = top + groupH * opts.bars.length + 40;
  const max = Math.max(1e-9, ...opts.bars.flatMap((b) => b.values.filter((v) => Number.isFinite(v))));
  const x = (v: number) => left + (v / max) * (width - left - right);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  opts.series.forEach((s, i) => {
    out.push(
      `<rect x="${10 + i * 220}" y="30" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${25 + i * 220}" y="39">${esc(s)}</text>`,
    );
  });
  opts.bars.forEach((b, g) => {
    const y0 = top + g * groupH;
    out.push(`<text x="10" y="${y0 + groupH / 2}">${esc(b.label)}</text>`);
    b.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const y = y0 + i * (barH + 3);
      out.push(
        `<rect x="${left}" y="${y}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${barH}" fill="${COLOURS[i % COLOURS.length]}"/>`,
        `<text x="${(x(v) + 4).toFixed(1)}" y="${y + barH - 3}">${esc(opts.format(v))}</text>`,
      );
    });
  });
  const axisY = top + groupH * opts.bars.length + 5;
  out.push(
    `<line x1="${left}" x2="${width - right}" y1="${axisY}" y2="${axisY}" stroke="black"/>`,
    `<text x="${left}" y="${axisY + 18}">0</text>`,
    `<text x="${width - right}" y="${axisY + 18}" text-anchor="end">${esc(opts.format(max))} ${esc(opts.unit)}</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}
