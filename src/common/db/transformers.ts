import type { ValueTransformer } from 'typeorm';

/** Money is stored as bigint (pg returns it as a string) and handled as a JS number of minor units. */
export const bigintToNumber: ValueTransformer = {
  to: (value?: number | null) => value,
  from: (value?: string | null) => (value === null || value === undefined ? value : Number(value)),
};
