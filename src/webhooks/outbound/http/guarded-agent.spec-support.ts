import type { LookupAddress } from 'node:dns';
import type { LookupFn } from './guarded-agent.js';

// What the guarded agent's specs share: lookups that answer from a table, or never.

/** A lookup that answers from a table and records what it was asked. */
export function fakeLookup(table: Record<string, string[]>): LookupFn & { calls: string[] } {
  const calls: string[] = [];
  const lookup = (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses)
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return Object.assign(lookup, { calls });
}

export const neverAnswers: LookupFn = () => new Promise<LookupAddress[]>(() => undefined);
/** The error `promise` rejects with (fails when it resolves). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the specs read any field of the error
export async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
