import { validateSync } from 'class-validator';
import { IsStringMap, stringMapProblem } from './string-map.js';

const LIMITS = { maxKeys: 3, maxKeyLength: 5, maxValueLength: 8 };
const problem = (value: unknown) => stringMapProblem(value, LIMITS);

describe('stringMapProblem', () => {
  it('accepts a flat map of strings at the limits, empty values included', () => {
    expect(problem({})).toBeNull();
    expect(problem({ a: 'x', bbbbb: '12345678', c: '' })).toBeNull();
    expect(problem({ ü: 'ünïcødé' })).toBeNull();
  });

  it('rejects what is not a plain object', () => {
    for (const v of [null, undefined, 'a=b', 1, ['a']]) expect(problem(v)).toBe('must be an object');
  });

  it('rejects more keys than allowed', () => {
    expect(problem({ a: '1', b: '2', c: '3', d: '4' })).toBe('must have at most 3 keys');
  });

  it('rejects a key that is too long, empty or unsafe', () => {
    expect(problem({ bbbbbb: 'x' })).toBe('keys must be at most 5 characters');
    expect(problem({ '': 'x' })).toBe('keys must contain a visible character');
    expect(problem({ 'a\u0000': 'x' })).toBe('keys must not contain control characters');
    expect(problem({ '\ud800': 'x' })).toBe('keys must be well-formed Unicode (it has an unpaired surrogate)');
  });

  it('rejects values that are not strings', () => {
    expect(problem({ a: 1 })).toBe('values must be strings (a is not)');
    expect(problem({ a: { id: '1' } })).toBe('values must be strings (a is not)');
    expect(problem({ a: null })).toBe('values must be strings (a is not)');
    expect(problem({ a: ['x'] })).toBe('values must be strings (a is not)');
  });

  it('rejects a value that is too long or unsafe', () => {
    expect(problem({ a: '123456789' })).toBe('values must be at most 8 characters');
    expect(problem({ a: 'x\u0000' })).toBe('values must not contain control characters (a)');
    expect(problem({ a: 'x\ndrop' })).toBe('values must not contain control characters (a)');
    expect(problem({ a: '\udfff' })).toBe('values must be well-formed Unicode (it has an unpaired surrogate) (a)');
  });
});

describe('@IsStringMap', () => {
  class Payment {
    @IsStringMap(LIMITS)
    metadata: unknown;
  }
  const errorsOf = (metadata: unknown) =>
    validateSync(Object.assign(new Payment(), { metadata })).flatMap((e) => Object.entries(e.constraints ?? {}));

  it('passes a good map and reports a bad one under its property name', () => {
    expect(errorsOf({ order: 'abc' })).toEqual([]);
    expect(errorsOf({ order: 1 })).toEqual([['isStringMap', 'metadata values must be strings (order is not)']]);
  });
});

describe('@IsStringMap({ each: true })', () => {
  class Batch {
    @IsStringMap(LIMITS, { each: true })
    maps: unknown[];
  }
  it('names the first bad element', () => {
    const [error] = validateSync(Object.assign(new Batch(), { maps: [{ a: 'x' }, { a: 2 }] }));
    expect(error.constraints).toEqual({ isStringMap: 'each value in maps values must be strings (a is not)' });
  });
});
