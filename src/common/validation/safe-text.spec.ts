import { validateSync } from 'class-validator';
import { IsSafeText, isSafeText, textProblem } from './safe-text.js';

describe('textProblem', () => {
  it.each([
    ['plain ASCII', 'T-shirt, black, M'],
    ['SQL-looking text (data, not a threat here)', "'; DROP TABLE orders; --"],
    ['Hebrew with an RLM inside', 'חולצה \u200fM'],
    ['an emoji ZWJ sequence', 'Family 👨‍👩‍👧'],
    ['a combining accent', 'e\u0301'],
    ['Persian with a ZWNJ', 'می\u200cخواهم'],
    ['an astral character (a valid surrogate pair)', '𝄞 clef'],
  ])('accepts %s', (_label, value) => {
    expect(textProblem(value)).toBeNull();
    expect(isSafeText(value)).toBe(true);
  });

  it.each([
    ['NUL', 'a\u0000b', 'control character'],
    ['ESC', 'a\u001b[2J', 'control character'],
    ['DEL', 'a\u007f', 'control character'],
    ['C1 NEL', 'a\u0085b', 'control character'],
    ['a line feed', 'a\nb', 'control character'],
    ['a tab', 'a\tb', 'control character'],
    ['a lone high surrogate at the end', 'abc\ud800', 'lone surrogate'],
    ['a lone low surrogate at the start', '\udc00abc', 'lone surrogate'],
    ['a surrogate pair in the wrong order', 'a\udc00\ud800b', 'lone surrogate'],
    ['an RTL override', 'invoice\u202efdp.exe', 'bidirectional control'],
    ['a first-strong isolate', 'a\u2068b\u2069', 'bidirectional control'],
    ['the empty string', '', 'no visible character'],
    ['spaces only', '   ', 'no visible character'],
    ['zero-width spaces only', '\u200b\u200b', 'no visible character'],
    ['direction marks only', '\u200f\u200e', 'no visible character'],
    ['a BOM only', '\ufeff', 'no visible character'],
    ['a Hangul filler only', '\u3164', 'no visible character'],
    ['an ideographic space only', '\u3000', 'no visible character'],
  ])('rejects %s', (_label, value, problem) => {
    expect(textProblem(value)).toBe(problem);
    expect(isSafeText(value)).toBe(false);
  });

  it('rejects what is not a string', () => {
    for (const value of [undefined, null, 42, ['a'], { a: 'b' }]) expect(textProblem(value)).toBe('not a string');
  });

  it('lets multiline text have tabs and line breaks, but still no other control character', () => {
    expect(textProblem('line 1\r\n\tline 2', { multiline: true })).toBeNull();
    expect(textProblem('line 1\u0000', { multiline: true })).toBe('control character');
    expect(textProblem('line 1\u000b', { multiline: true })).toBe('control character');
  });

  it('lets allowBlank accept invisible-only text, but not control characters', () => {
    expect(textProblem('', { allowBlank: true })).toBeNull();
    expect(textProblem('\u200b', { allowBlank: true })).toBeNull();
    expect(textProblem('\u0000', { allowBlank: true })).toBe('control character');
  });

  it('judges well-formedness exactly as String.prototype.isWellFormed', () => {
    const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
    const samples = ['ok', '𝄞', '\ud834\udd1e', '\ud834', '\udd1e', 'x\ud834y', '\udd1e\ud834', '\ud800\ud800\udc00'];
    for (const s of samples) {
      const expected = isWellFormed
        ? isWellFormed.call(s)
        : !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
      expect([s, textProblem(s) !== 'lone surrogate']).toEqual([s, expected]);
    }
  });
});

describe('@IsSafeText', () => {
  class Item {
    @IsSafeText()
    name: unknown;
  }
  class Tags {
    @IsSafeText({}, { each: true })
    tags: unknown[];
  }
  const errorsOf = <T extends object>(target: T) =>
    validateSync(target).flatMap((e) => Object.entries(e.constraints ?? {}));
  const item = (name: unknown) => Object.assign(new Item(), { name });

  it('passes safe text', () => {
    expect(errorsOf(item('T-shirt'))).toEqual([]);
  });

  it('names the broken rule, and never echoes the value', () => {
    expect(errorsOf(item('secret\u0000'))).toEqual([['isSafeText', 'name must not contain control characters']]);
    expect(errorsOf(item('x\ud800'))).toEqual([
      ['isSafeText', 'name must be well-formed Unicode (it has an unpaired surrogate)'],
    ]);
    expect(errorsOf(item('\u200b'))).toEqual([['isSafeText', 'name must contain a visible character']]);
    expect(errorsOf(item(7))).toEqual([['isSafeText', 'name must be a string']]);
  });

  it('checks each element with { each: true }', () => {
    expect(errorsOf(Object.assign(new Tags(), { tags: ['a', 'b'] }))).toEqual([]);
    expect(errorsOf(Object.assign(new Tags(), { tags: ['a', 'b\u202e'] }))).toEqual([
      ['isSafeText', 'each value in tags must not contain bidirectional override or isolate characters'],
    ]);
  });
});
