import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';

export interface StorableJsonOptions {
  /** Deepest nesting of objects and arrays allowed; the value itself is level 1. Default 32. */
  maxDepth?: number;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Why a string cannot go into PostgreSQL text or jsonb, or null if it can. */
function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains NUL (\\u0000)';
  if (LONE_SURROGATE.test(s)) return 'contains an unpaired surrogate';
  return null;
}

/**
 * Whether `value` can be stored: the check alone, without the path of every node that
 * storableJsonProblem builds (the webhook receiver runs it on every event). Iterative,
 * like that walk, so a deep value cannot overflow the stack.
 */
function storable(value: unknown, maxDepth: number): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v === 'string') {
      if (stringProblem(v) !== null) return false;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth > maxDepth) return false;
    if (Array.isArray(v)) {
      for (const item of v) {
        values.push(item);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      if (stringProblem(key) !== null) return false;
      values.push((v as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return true;
}

/**
 * Why a parsed JSON value cannot be stored as PostgreSQL jsonb, or null if it can:
 * a NUL or an unpaired surrogate in any string or key, or nesting deeper than
 * `maxDepth`. The path of the first problem is found by a second, iterative walk, only
 * for a value that has one.
 */
export function storableJsonProblem(value: unknown, { maxDepth = 32 }: StorableJsonOptions = {}): string | null {
  if (storable(value, maxDepth)) return null;
  const stack: { v: unknown; depth: number; at: string }[] = [{ v: value, depth: 1, at: '' }];
  while (stack.length > 0) {
    const { v, depth, at } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return `${at || 'value'} ${problem}`;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth > maxDepth) return `is nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, depth: depth + 1, at: `${at}[${i}]` }));
      continue;
    }
    for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
      const problem = stringProblem(key);
      if (problem) return `a key${at ? ` in ${at}` : ''} ${problem}`;
      stack.push({ v: item, depth: depth + 1, at: at ? `${at}.${key}` : key });
    }
  }
  return null;
}

/**
 * A JSON value PostgreSQL can store as jsonb (see storableJsonProblem). For fields
 * kept as received, such as an inbound event's `data`.
 */
export function IsStorableJson(
  options: StorableJsonOptions = {},
  validationOptions?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStorableJson',
      constraints: [options],
      validator: {
        validate: (value: unknown) => storableJsonProblem(value, options) === null,
        defaultMessage: buildMessage((each, args) => {
          // With { each: true } the value is the whole array: name the first element's problem.
          const values: unknown[] = each && Array.isArray(args?.value) ? args.value : [args?.value];
          const problem = values.map((v) => storableJsonProblem(v, options)).find((p) => p !== null) ?? '';
          // Property paths only: the offending value itself is never echoed.
          return `${each}${args?.property ?? 'value'} cannot be stored: ${problem}`;
        }, validationOptions),
      },
    },
    validationOptions,
  );
}
