import type { ResolvedVia } from '../payments/payment-status.js';

/** How values read on the operator's pages: amounts, durations, resolution paths. */

/** Amount in minor units → "34.48" with the currency's own number of decimals. */
export function formatAmount(amountMinor: number, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // Unknown to Intl: assume cents.
  }
  const negative = amountMinor < 0;
  const s = String(Math.abs(Math.trunc(amountMinor))).padStart(digits + 1, '0');
  const major = digits > 0 ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  return `${negative ? '-' : ''}${major}`;
}

/** "842 ms" below ten seconds, "12.4 s" above. */
export function formatMs(ms: number): string {
  return Math.abs(ms) < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const VIA_LABEL: Record<ResolvedVia, string> = {
  webhook: 'webhook',
  fallback_poll: 'fallback poll',
  short_poll: 'short poll',
  long_poll: 'long poll',
  reconciliation: 'reconciliation',
  webhook_fetch: 'fetch after a thin webhook',
};
