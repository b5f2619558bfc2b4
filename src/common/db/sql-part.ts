/**
 * CTEs one module adds to a statement another writes, so that their writes share one
 * round trip (the inbox mark and a payment's timeline in the orders' outcome statement:
 * docs/decisions/0033-worker-apply-in-two-statements.md). `ctes` is `a AS (…), b AS (…)`
 * without the WITH, its parameters numbered from $1 as `params`; the statement that takes
 * it renumbers them after its own (`appendParts`). Its CTEs must modify data (PostgreSQL
 * runs those to completion whether the statement reads them or not) and take no lock the
 * statement's transaction does not already hold, so that they change no lock order.
 */
export interface SqlPart {
  /** Short, and one per `ctes` text: it is appended to the prepared statement's name. */
  name: string;
  ctes: string;
  params: unknown[];
  /** Set once the statement carrying the part has run (`confirmParts`). */
  written?: boolean;
}

/** `ctes` with its parameters $1…$n renumbered $offset+1…$offset+n. */
export function shiftParams(ctes: string, offset: number): string {
  return offset === 0 ? ctes : ctes.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}

/**
 * A statement's CTEs (parameters $1…$params.length) followed by the parts': the joined
 * CTEs, all parameters, and the statement name with the parts' names appended.
 */
export function appendParts(
  base: { name: string; ctes: string; params: unknown[] },
  parts: readonly SqlPart[],
): { name: string; ctes: string; params: unknown[] } {
  let { name, ctes } = base;
  const params = [...base.params];
  for (const part of parts) {
    name += `+${part.name}`;
    ctes += `,\n${shiftParams(part.ctes, params.length)}`;
    params.push(...part.params);
  }
  return { name, ctes, params };
}

/** Records that the statement carrying `parts` ran. */
export function confirmParts(parts: readonly SqlPart[]): void {
  for (const part of parts) part.written = true;
}
