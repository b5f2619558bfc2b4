import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time string comparison that does not leak length (both sides hashed first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Whether `presented` is one of `keys`; every key is compared, so the time taken does not tell which matched. */
export function matchesAnyKey(presented: string, keys: readonly string[]): boolean {
  let ok = false;
  for (const key of keys) ok = safeEqual(presented, key) || ok;
  return ok;
}
