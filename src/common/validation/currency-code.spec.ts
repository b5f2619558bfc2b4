import { validateSync } from 'class-validator';
import { IsCurrencyCode, isCurrencyCode } from './currency-code.js';

describe('isCurrencyCode', () => {
  it.each(['USD', 'EUR', 'JPY', 'CHF'])('accepts %s', (code) => {
    expect(isCurrencyCode(code)).toBe(true);
  });

  it.each([
    ['lower case', 'usd'],
    ['mixed case', 'Usd'],
    ['an unassigned code', 'ABC'],
    ['two letters', 'US'],
    ['four letters', 'USDD'],
    ['padding', ' USD'],
    ['the ISO number', 840],
    ['the ISO number as text', '840'],
    ['null', null],
    ['SQL', "USD'--"],
  ])('rejects %s', (_label, value) => {
    expect(isCurrencyCode(value)).toBe(false);
  });
});

describe('@IsCurrencyCode', () => {
  class Order {
    @IsCurrencyCode()
    currency: unknown;
  }
  it('reports the property with a hint', () => {
    const ok = validateSync(Object.assign(new Order(), { currency: 'USD' }));
    expect(ok).toEqual([]);
    const [error] = validateSync(Object.assign(new Order(), { currency: 'usd' }));
    expect(error.constraints).toEqual({
      isCurrencyCode: 'currency must be an ISO 4217 currency code in capitals, such as USD',
    });
  });
});
