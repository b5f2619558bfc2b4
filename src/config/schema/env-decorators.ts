import { Max, Min, ValidateBy, type ValidationArguments } from 'class-validator';
import {
  DURATION_LIST_PATTERN,
  DURATION_PATTERN,
  formatDuration,
  parseDuration,
  parseDurationList,
} from '../../common/duration.js';
import { MAX_RETRY_STEP_MS, MAX_RETRY_STEPS } from '../bounds.js';

export const WHSEC = /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/;
export const WHSEC_LIST = /^whsec_[A-Za-z0-9+/]{16,}={0,2}( +whsec_[A-Za-z0-9+/]{16,}={0,2})*$/;
export const KEY_LIST = /^[A-Za-z0-9_\-.]{16,}(,[A-Za-z0-9_\-.]{16,})*$/;

/** Meaning of each variable, in declaration order: the source of the table in docs/configuration.md and .env.example. */
export const DOCS = new Map<string, string>();
export const Doc =
  (meaning: string): PropertyDecorator =>
  (_target, key) => {
    DOCS.set(String(key), meaning);
  };

export const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
export const toFloat = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
export const toBool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

// Every number and duration has a largest value the code can store and honour, named in the
// message with the allowed range (docs/decisions/0401-bounded-configuration.md).
const withUnit = (name: string, n: number) =>
  name.endsWith('_MS') && n >= 1000 ? `${n} (${formatDuration(n)})` : `${n}`;

/** `min` ≤ value ≤ `max`; either failure names the whole range. */
export const Range =
  (min: number, max: number): PropertyDecorator =>
  (target, key) => {
    const message = ({ property }: ValidationArguments) =>
      `${property} must be from ${withUnit(property, min)} to ${withUnit(property, max)}`;
    Min(min, { message })(target, key);
    Max(max, { message })(target, key);
  };

/** A duration (checked by its @Matches) of at most `max`; `min` is for the message (a longer check may own it). */
export const DurationAtMost = (max: string, min = '0s'): PropertyDecorator =>
  ValidateBy({
    name: 'durationAtMost',
    validator: {
      validate: (v) => typeof v !== 'string' || !DURATION_PATTERN.test(v) || parseDuration(v) <= parseDuration(max),
      defaultMessage: (a) => `${a?.property} must be a duration from ${min} to ${max}`,
    },
  });

/** A retry schedule (checked by its @Matches) of at most MAX_RETRY_STEPS waits of at most MAX_RETRY_STEP_MS each. */
export const RetrySteps = (): PropertyDecorator =>
  ValidateBy({
    name: 'retrySteps',
    validator: {
      validate: (v) => {
        if (typeof v !== 'string' || !DURATION_LIST_PATTERN.test(v)) return true;
        const steps = parseDurationList(v);
        return steps.length <= MAX_RETRY_STEPS && steps.every((ms) => ms <= MAX_RETRY_STEP_MS);
      },
      defaultMessage: (a) =>
        `${a?.property} must list 1 to ${MAX_RETRY_STEPS} waits, each from 0ms to ${formatDuration(MAX_RETRY_STEP_MS)}`,
    },
  });
