/**
 * One step of the payment page's timeline, and the helpers that build one from the
 * loosely typed detail the payments module records. Pure: no I/O, no HTML.
 */

export type Tone = 'neutral' | 'good' | 'bad' | 'warn' | 'info';
export type Side = 'shop' | 'psp';

export interface Fact {
  label: string;
  value: string;
  /** Identifiers and codes: drawn in a monospace face. */
  mono?: boolean;
}

export interface TimelineStep {
  /** Stable machine name of the step kind (CSS class, tests). */
  kind: string;
  title: string;
  at: Date | null;
  /** Milliseconds since the payment was created. */
  offsetMs: number | null;
  /** Milliseconds since the previous step on the page. */
  sincePrevMs: number | null;
  /** The step's own duration, when it has one, with what it measures. */
  took: { ms: number; what: string } | null;
  tone: Tone;
  side: Side;
  /** The step that decided the payment. */
  highlight: boolean;
  facts: Fact[];
}

/** A step before it is placed on the page (offsets come from its neighbours). */
export type StepDraft = Omit<TimelineStep, 'offsetMs' | 'sincePrevMs'>;

export function step(d: Partial<StepDraft> & Pick<StepDraft, 'kind' | 'title' | 'at'>): StepDraft {
  return { took: null, tone: 'neutral', side: 'shop', highlight: false, facts: [], ...d };
}

export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const date = (v: unknown): Date | null => {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (typeof v !== 'string') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};
export const between = (from: Date | null, to: Date | null): number | null =>
  from && to ? to.getTime() - from.getTime() : null;

/** A fact, or none when the value is empty. */
export const fact = (label: string, value: unknown, mono = false): Fact[] => {
  if (value === null || value === undefined || value === '') return [];
  const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : JSON.stringify(value);
  return [{ label, value: text, ...(mono ? { mono } : {}) }];
};
