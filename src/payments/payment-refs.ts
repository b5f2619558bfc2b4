/**
 * Where each webhook source's events name the payment they are about: the shop's payment
 * id (in the metadata the shop sent with the payment) and the PSP's payment id. Declared
 * once for the two readers that must agree: the handlers, which apply an event to that
 * payment, and the worker's lock statement, which locks the payments a batch's events
 * name before the handlers run (PaymentsRepository.inboxCoLock, decision 0033). The
 * handlers look payments up only among the rows that statement locked: had the two
 * drifted, an event naming its payment where only the handler looks would be ignored as
 * matching no payment.
 */
export const PAYMENT_REFS = {
  psp: { paymentId: ['data', 'metadata', 'paymentId'], pspPaymentId: ['data', 'payment_id'] },
  stripe: { paymentId: ['data', 'object', 'metadata', 'paymentId'], pspPaymentId: ['data', 'object', 'id'] },
} as const satisfies Record<string, Record<PaymentRef, readonly string[]>>;

export type PaymentRef = 'paymentId' | 'pspPaymentId';
export type RefSource = keyof typeof PAYMENT_REFS;

/** The string at `path` in a parsed payload, or undefined (missing, or not a string). */
export function textAt(payload: unknown, path: readonly string[]): string | undefined {
  let at: unknown = payload;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === 'string' ? at : undefined;
}

/** What an event of `source` names: its payment's ids, each when it is a string. */
export function paymentRefsOf(source: RefSource, payload: unknown): { paymentId?: string; pspPaymentId?: string } {
  const paths = PAYMENT_REFS[source];
  return { paymentId: textAt(payload, paths.paymentId), pspPaymentId: textAt(payload, paths.pspPaymentId) };
}

/**
 * The same reference in SQL, for a row with `source` and `payload` (jsonb) columns under
 * `alias`: a CASE over the sources, NULL for another source. The paths are identifiers of
 * this file, never input, so they are written into the statement's text.
 */
export function paymentRefSql(ref: PaymentRef, alias: string): string {
  const whens = (Object.keys(PAYMENT_REFS) as RefSource[]).map(
    (source) => `WHEN '${source}' THEN ${alias}.payload #>> '{${PAYMENT_REFS[source][ref].join(',')}}'`,
  );
  return `CASE ${alias}.source ${whens.join(' ')} END`;
}
