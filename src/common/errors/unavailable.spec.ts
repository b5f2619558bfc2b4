import { isDatabaseUnavailable } from './unavailable.js';

describe('isDatabaseUnavailable', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }],
    [{ message: 'Connection terminated unexpectedly' }],
    [{ message: 'query failed', driverError: { code: '57P01' } }],
    [{ message: 'wrapped', cause: { code: '08006' } }],
    [new Error('timeout exceeded when trying to connect')],
  ])('recognises %o', (err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    [{ code: '23505', message: 'duplicate key value violates unique constraint' }],
    [{ code: '22P02', message: 'invalid input syntax for type uuid' }],
    [new Error('something else')],
    [null],
  ])('does not take %o for an outage', (err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});
