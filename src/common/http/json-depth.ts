/** Deepest JSON nesting a request body may have; real payloads stay far below it. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply `raw` JSON nests, counted without parsing or recursion (one pass over
 * the bytes, skipping string contents). Stops counting once `limit` is passed, so a
 * hostile body cannot make the validators after it recurse until the stack overflows.
 */
export function jsonDepthExceeds(raw: Buffer | string, limit = MAX_JSON_DEPTH): boolean {
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw;
  // A body with no more than `limit` brackets cannot nest deeper: found by indexOf
  // (memchr) rather than by the byte loop below, which real payloads then never run.
  if (bracketsAtMost(bytes, limit)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Whether `bytes` holds at most `n` opening brackets (`{` and `[`, inside strings too). */
function bracketsAtMost(bytes: Buffer, n: number): boolean {
  let seen = 0;
  for (const bracket of [0x7b, 0x5b]) {
    for (let i = bytes.indexOf(bracket); i !== -1; i = bytes.indexOf(bracket, i + 1)) {
      if (++seen > n) return false;
    }
  }
  return true;
}
