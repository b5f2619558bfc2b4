/**
 * Durations written as people write them (`500ms`, `5s`, `5m`, `2h`, `5d`): the
 * settings' retentions, timeouts and retry schedules.
 */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

export const DURATION_PATTERN = /^\d+(ms|s|m|h|d)$/;
export const DURATION_LIST_PATTERN = /^\s*\d+(ms|s|m|h|d)\s*(,\s*\d+(ms|s|m|h|d)\s*)*$/;

/** `90s` → 90000; throws on anything else. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration such as 500ms, 5s, 5m, 2h or 5d`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** 30 days → `30d`, 90 s → `90s`, 1500 ms → `1500ms`: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function parseDurationList(text: string): number[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseDuration);
}
