/**
 * Stripe's request encoding, as the SDK sends it: form fields whose names nest with
 * brackets (`metadata[orderId]=…`, `created[gte]=…`, `expand[0]=…`). Fastify's parser
 * leaves the names flat; this nests them one level, which is all the dialect reads.
 */
export type StripeParams = Record<string, string | Record<string, string>>;

const NESTED = /^([a-z_]+)\[([^\]]*)\]$/;

export function nestParams(flat: Record<string, unknown>): StripeParams {
  const out: StripeParams = {};
  for (const [name, raw] of Object.entries(flat ?? {})) {
    const value = Array.isArray(raw) ? String(raw[raw.length - 1]) : String(raw);
    const m = NESTED.exec(name);
    if (!m) {
      out[name] = value;
      continue;
    }
    const parent = out[m[1]];
    const map = typeof parent === 'object' ? parent : (out[m[1]] = {});
    map[m[2]] = value;
  }
  return out;
}
