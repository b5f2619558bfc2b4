/**
 * An error the client can act on. `code` is stable and documented (clients branch
 * on it); `status` is the HTTP status; the filter renders it as problem+json.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.name = 'DomainError';
  }
}

export const notFound = (code: string, what: string, id: string) =>
  new DomainError(code, 404, `${what} not found`, `No ${what.toLowerCase()} with id ${id}.`);

/**
 * A response stored earlier and answered again verbatim (an idempotent replay).
 * Thrown so that it bypasses the handler and Nest's own status handling; the
 * problem-details filter writes it out with `Idempotency-Replay: true`.
 */
export class StoredResponse extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType: string,
    readonly headers: Record<string, string> = {},
  ) {
    super('stored response');
    this.name = 'StoredResponse';
  }
}
