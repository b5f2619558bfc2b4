import { jsonbTextProblem, numericProblem } from './jsonb-text.js';

/** Each case as PostgreSQL 15 answered `('[' || text || ']')::jsonb` (see the decision record 0501). */
const MEASURED: [label: string, text: string, pgStores: boolean][] = [
  ['131,072 integer digits', '1'.repeat(131_072), true],
  ['131,073 integer digits', '1'.repeat(131_073), false],
  ['1e131071', '1e131071', true],
  ['9.9e131071', '9.9e131071', true],
  ['1e131072', '1e131072', false],
  ['1e1000000', '1e1000000', false],
  ['16,383 fraction digits', `0.${'1'.repeat(16_383)}`, true],
  ['16,384 fraction digits', `0.${'1'.repeat(16_384)}`, false],
  ['16,384 zeros after the point', `0.${'0'.repeat(16_384)}`, false],
  ['1e-16383', '1e-16383', true],
  ['1e-16384', '1e-16384', false],
  ['1.0e-16383 (scale 16,384)', '1.0e-16383', false],
  ['10e-16384 (scale 16,384)', '10e-16384', false],
  ['1.5e-16382', '1.5e-16382', true],
  ['0e99999999', '0e99999999', true],
  ['0.0e131072', '0.0e131072', true],
  ['0e-99999999', '0e-99999999', false],
  ['0e1073741822', '0e1073741822', true],
  ['0e1073741823', '0e1073741823', false],
  ['exponent with leading zeros', '1e00000000000000000005', true],
  ['1e2147483647', '1e2147483647', false],
  ['1e99999999999', '1e99999999999', false],
  ['-0', '-0', true],
  ['1E+2', '1E+2', true],
];

describe('jsonbTextProblem', () => {
  it.each(MEASURED)('%s: refused exactly when PostgreSQL refuses it', (_label, text, pgStores) => {
    expect(numericProblem(text) === null).toBe(pgStores);
    expect(jsonbTextProblem(`{"a":[1,${text}]}`) === null).toBe(pgStores);
  });

  it('refuses a body that starts with a byte order mark', () => {
    expect(jsonbTextProblem('\ufeff{"a":1}')).toMatch(/byte order mark/);
    expect(jsonbTextProblem('{"a":"\ufeff"}')).toBeNull();
  });

  it('ignores what looks like a number inside strings and keys, escaped quotes included', () => {
    expect(jsonbTextProblem('{"1e1000000":"1e1000000","b":"x\\"1e1000000\\\\","c":1}')).toBeNull();
    expect(jsonbTextProblem('{"b":"x\\\\","c":1e1000000}')).toMatch(/numeric/);
  });

  it('never echoes the number, only its size', () => {
    expect(jsonbTextProblem('{"a":123456789e1000000}')).toBe(
      "a number of 17 characters is outside PostgreSQL numeric's range (more than 131072 digits before the decimal point)",
    );
  });
});
