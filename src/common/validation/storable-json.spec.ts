import { validateSync } from 'class-validator';
import { IsStorableJson, storableJsonProblem } from './storable-json.js';

/** { x: { x: … leaf } } with `levels` objects. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { x: value };
  return value;
}

describe('storableJsonProblem', () => {
  it('accepts an ordinary event payload', () => {
    const data = {
      payment_id: 'pay_0f1e2d3c4b5a69788796a5b4',
      status: 'completed',
      amount: 2598,
      metadata: { orderId: '6d1c', note: 'café 👨‍👩‍👧', empty: '' },
      list: [1, 'two', null, true, { three: [3] }],
    };
    expect(storableJsonProblem(data)).toBeNull();
  });

  it('accepts scalars and null', () => {
    for (const v of [null, 0, 'text', false]) expect(storableJsonProblem(v)).toBeNull();
  });

  it('finds a NUL in a nested value and names its path', () => {
    expect(storableJsonProblem({ metadata: { orderId: 'a\u0000b' } })).toBe('metadata.orderId contains NUL (\\u0000)');
  });

  it('finds a NUL or a lone surrogate in a key', () => {
    expect(storableJsonProblem({ a: { 'k\u0000': 1 } })).toBe('a key in a contains NUL (\\u0000)');
    expect(storableJsonProblem({ '\ud800': 1 })).toBe('a key contains an unpaired surrogate');
  });

  it('finds a lone surrogate inside an array', () => {
    expect(storableJsonProblem({ items: ['ok', '\udc00'] })).toBe('items[1] contains an unpaired surrogate');
  });

  it('does not object to a valid surrogate pair or to other control characters (jsonb stores them)', () => {
    expect(storableJsonProblem({ s: '𝄞\u0001\u001b' })).toBeNull();
  });

  it('allows 32 levels by default and refuses 33', () => {
    expect(storableJsonProblem(nested(32))).toBeNull();
    expect(storableJsonProblem(nested(33))).toBe('is nested deeper than 32 levels');
    expect(storableJsonProblem(nested(3), { maxDepth: 2 })).toBe('is nested deeper than 2 levels');
    expect(storableJsonProblem([[[]]], { maxDepth: 2 })).toBe('is nested deeper than 2 levels');
  });

  it('walks without recursion: a 100,000-level value is refused, not a stack overflow', () => {
    expect(() => storableJsonProblem(nested(100_000))).not.toThrow();
    expect(storableJsonProblem(nested(100_000), { maxDepth: 200_000 })).toBeNull();
  });
});

describe('@IsStorableJson', () => {
  class Event {
    @IsStorableJson({ maxDepth: 4 })
    data: unknown;
  }
  const errorsOf = (data: unknown) =>
    validateSync(Object.assign(new Event(), { data })).flatMap((e) => Object.entries(e.constraints ?? {}));

  it('passes storable data', () => {
    expect(errorsOf({ a: { b: 'c' } })).toEqual([]);
  });

  it('explains the problem by path, without the value', () => {
    expect(errorsOf({ a: { b: 'secret\u0000' } })).toEqual([
      ['isStorableJson', 'data cannot be stored: a.b contains NUL (\\u0000)'],
    ]);
    expect(errorsOf(nested(5))).toEqual([['isStorableJson', 'data cannot be stored: is nested deeper than 4 levels']]);
  });
});

describe('@IsStorableJson({ each: true })', () => {
  class Batch {
    @IsStorableJson({}, { each: true })
    events: unknown[];
  }
  it('names the first bad element', () => {
    const [error] = validateSync(Object.assign(new Batch(), { events: [{ a: 'x' }, { b: '\u0000' }] }));
    expect(error.constraints).toEqual({
      isStorableJson: 'each value in events cannot be stored: b contains NUL (\\u0000)',
    });
  });
});
