/**
 * What PostgreSQL 15 refuses in JSON text that JSON.parse (and Fastify's parser)
 * accepts, beyond the strings storable-json.ts checks: a byte order mark before the
 * value (Fastify strips it, PostgreSQL's json parser does not), and numbers outside
 * `numeric`'s range. jsonb stores every number as `numeric`, which takes at most
 * 131,072 digits before the decimal point and 16,383 after it (the display scale,
 * trailing zeros included), and an exponent below ±1,073,741,823 (INT_MAX / 2).
 * JSON.parse turns all of those into a double (Infinity, 0 or a rounded value), so only
 * the text shows them. Measured against PostgreSQL 15: docs/decisions/0501-unstorable-inbound-events.md.
 */

/** numeric's most digits before the decimal point: its weight is at most 32,767 base-10,000 digits. */
export const NUMERIC_MAX_INTEGER_DIGITS = 131_072;
/** numeric's most digits after the decimal point (NUMERIC_DSCALE_MAX). */
export const NUMERIC_MAX_SCALE = 16_383;
/** numeric_in refuses an exponent this large or larger in magnitude (INT_MAX / 2). */
const NUMERIC_MAX_EXPONENT = 1_073_741_823;

/** A number token shorter than this, without an exponent, is always within range. */
const SHORT_NUMBER = NUMERIC_MAX_SCALE;

const ZERO = 48;
const NINE = 57;
const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;

/**
 * Why PostgreSQL would refuse this JSON text as jsonb although it parsed as JSON, or
 * null. `text` must already be valid JSON (the check does not validate it): it walks the
 * text once, skipping strings, and looks at number tokens only.
 */
export function jsonbTextProblem(text: string): string | null {
  if (text.charCodeAt(0) === 0xfeff) return 'starts with a byte order mark (U+FEFF), which jsonb does not accept';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i);
      continue;
    }
    if (c === MINUS || (c >= ZERO && c <= NINE)) {
      let end = i + 1;
      let exponent = false;
      while (end < n) {
        const d = text.charCodeAt(end);
        if ((d >= ZERO && d <= NINE) || d === 46 /* . */ || d === 43 /* + */ || d === MINUS) end++;
        else if (d === 101 /* e */ || d === 69 /* E */) {
          exponent = true;
          end++;
        } else break;
      }
      if (exponent || end - i >= SHORT_NUMBER) {
        const problem = numericProblem(text.slice(i, end));
        if (problem) return problem;
      }
      i = end;
      continue;
    }
    i++;
  }
  return null;
}

/** The index just past the string that opens at `start` (a quote). */
function endOfString(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let backslashes = 0;
    for (let k = q - 1; k > start && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

const NUMBER = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?)(\d+))?$/;

/** Why numeric_in would refuse this JSON number, or null; the value is never echoed, only its size. */
export function numericProblem(token: string): string | null {
  const m = NUMBER.exec(token);
  if (!m) return null; // not a JSON number: JSON.parse would have refused the body
  const integer = m[1];
  const fraction = m[2] ?? '';
  const exponentDigits = (m[4] ?? '').replace(/^0+/, '');
  const tooLarge = `a number of ${token.length} characters is outside PostgreSQL numeric's range`;
  if (exponentDigits.length > 10) return tooLarge;
  const exponent = (m[3] === '-' ? -1 : 1) * Number(exponentDigits || '0');
  if (Math.abs(exponent) >= NUMERIC_MAX_EXPONENT) return tooLarge;
  if (Math.max(0, fraction.length - exponent) > NUMERIC_MAX_SCALE) {
    return `${tooLarge} (more than ${NUMERIC_MAX_SCALE} digits after the decimal point)`;
  }
  const digits = integer + fraction;
  const first = digits.search(/[1-9]/);
  if (first >= 0 && integer.length - first + exponent > NUMERIC_MAX_INTEGER_DIGITS) {
    return `${tooLarge} (more than ${NUMERIC_MAX_INTEGER_DIGITS} digits before the decimal point)`;
  }
  return null;
}
