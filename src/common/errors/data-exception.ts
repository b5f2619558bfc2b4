/**
 * The SQLSTATE when `err` (a TypeORM/pg error, possibly wrapped) is a PostgreSQL data
 * exception (class 22: a value the column type refuses, such as JSON text jsonb cannot
 * hold), else null. Such an error is the data's fault, not the database's.
 */
export function dataExceptionCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const { code, driverError, cause } = e as { code?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)) return code;
    e = driverError ?? cause;
  }
  return null;
}
