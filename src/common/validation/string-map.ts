import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';
import { safeTextMessage, textProblem } from './safe-text.js';

export interface StringMapOptions {
  maxKeys: number;
  maxKeyLength: number;
  maxValueLength: number;
}

/**
 * Why `value` is not a flat map of short strings (Stripe-style `metadata`), or null:
 * a plain object of at most `maxKeys` entries; keys of 1 to `maxKeyLength` characters
 * that are safe single-line text; values that are strings of at most `maxValueLength`
 * characters, safe single-line text, empty allowed.
 */
export function stringMapProblem(value: unknown, options: StringMapOptions): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > options.maxKeys) return `must have at most ${options.maxKeys} keys`;
  for (const [key, item] of entries) {
    if (key.length > options.maxKeyLength) return `keys must be at most ${options.maxKeyLength} characters`;
    const keyProblem = textProblem(key);
    if (keyProblem) return `keys ${safeTextMessage(keyProblem)}`;
    if (typeof item !== 'string') return `values must be strings (${key} is not)`;
    if (item.length > options.maxValueLength) return `values must be at most ${options.maxValueLength} characters`;
    const valueProblem = textProblem(item, { allowBlank: true });
    if (valueProblem) return `values ${safeTextMessage(valueProblem)} (${key})`;
  }
  return null;
}

export function IsStringMap(options: StringMapOptions, validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringMap',
      constraints: [options],
      validator: {
        validate: (value: unknown) => stringMapProblem(value, options) === null,
        defaultMessage: buildMessage((each, args) => {
          // With { each: true } the value is the whole array: name the first element's problem.
          const values: unknown[] = each && Array.isArray(args?.value) ? args.value : [args?.value];
          const problem = values.map((v) => stringMapProblem(v, options)).find((p) => p !== null);
          return `${each}${args?.property ?? 'value'} ${problem ?? 'must be a map of strings'}`;
        }, validationOptions),
      },
    },
    validationOptions,
  );
}
