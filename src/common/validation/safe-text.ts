import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';

export interface SafeTextOptions {
  /** Allow tab, line feed and carriage return (free text over several lines). Default: one line. */
  multiline?: boolean;
  /** Allow a string with no visible character: '' or only spaces and invisible marks. Default: no. */
  allowBlank?: boolean;
}

export type TextProblem =
  'not a string' | 'lone surrogate' | 'control character' | 'bidirectional control' | 'no visible character';

/**
 * With the `u` flag a well-formed surrogate pair is one code point (not Cs), so this
 * matches exactly the unpaired halves: `!LONE_SURROGATE.test(s)` ≡ `s.isWellFormed()`.
 */
const LONE_SURROGATE = /\p{Cs}/u;
/** C0 and C1 controls and DEL; NUL among them (PostgreSQL text and jsonb cannot store it). */
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_LINE_BREAKS = /(?![\t\n\r])\p{Cc}/u;
/** Embeddings, overrides and isolates: they reorder what a reader sees ("Trojan Source"). */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/** Spaces, format characters (zero-width, RTL/LTR marks, BOM…) and the Hangul fillers. */
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}\u115F\u1160\u3164\uFFA0]*$/u;

/**
 * What makes `value` unfit as a piece of user-supplied text, or null if nothing does.
 * Marks such as ZWJ, ZWNJ and RLM are allowed inside text (emoji sequences, Persian,
 * Hebrew need them), just not as all of it.
 */
export function textProblem(value: unknown, options: SafeTextOptions = {}): TextProblem | null {
  if (typeof value !== 'string') return 'not a string';
  if (LONE_SURROGATE.test(value)) return 'lone surrogate';
  if ((options.multiline ? CONTROL_BUT_LINE_BREAKS : CONTROL).test(value)) return 'control character';
  if (BIDI_CONTROL.test(value)) return 'bidirectional control';
  if (!options.allowBlank && INVISIBLE_ONLY.test(value)) return 'no visible character';
  return null;
}

export const isSafeText = (value: unknown, options?: SafeTextOptions): boolean => textProblem(value, options) === null;

const MESSAGES: Record<TextProblem, string> = {
  'not a string': 'must be a string',
  'lone surrogate': 'must be well-formed Unicode (it has an unpaired surrogate)',
  'control character': 'must not contain control characters',
  'bidirectional control': 'must not contain bidirectional override or isolate characters',
  'no visible character': 'must contain a visible character',
};

export function safeTextMessage(problem: TextProblem): string {
  return MESSAGES[problem];
}

/**
 * A string a person typed and others will read: well-formed Unicode (no lone
 * surrogates), no control characters (NUL, escape, line breaks unless `multiline`), no
 * bidirectional overrides, and at least one visible character (unless `allowBlank`).
 * The message says which rule failed, never the value.
 */
export function IsSafeText(options: SafeTextOptions = {}, validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSafeText',
      constraints: [options],
      validator: {
        validate: (value: unknown) => isSafeText(value, options),
        defaultMessage: buildMessage((each, args) => {
          // With { each: true } the value is the whole array: name the first element's problem.
          const values: unknown[] = each && Array.isArray(args?.value) ? args.value : [args?.value];
          const problem = values.map((v) => textProblem(v, options)).find((p) => p !== null) ?? 'not a string';
          return `${each}${args?.property ?? 'value'} ${safeTextMessage(problem)}`;
        }, validationOptions),
      },
    },
    validationOptions,
  );
}
