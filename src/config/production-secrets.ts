/**
 * What production refuses to run on: a secret that is unset (so its development default
 * would apply), that equals a value published in this repository, or that is too short
 * to be a secret. Published values are listed here, and `production-secrets.spec.ts`
 * scans the repository so that a new example or test key cannot be published without
 * being refused. Why these minimums: docs/decisions/0101-production-secrets.md.
 */

/** Development defaults of the secrets: published in env.ts and in docs/ (configuration.md, api.md, …). */
export const DEV_SECRETS = {
  API_KEYS: 'sk_shop_dev_0123456789abcdef',
  ADMIN_API_KEYS: 'sk_admin_dev_0123456789abcdef',
  PSP_API_KEY: 'sk_psp_dev_0123456789abcdef',
  PSP_WEBHOOK_SECRET: 'whsec_aG9va2xpbmUtZGV2LW9ubHktc2lnbmluZy1rZXk=',
  SEALING_KEYS: 'dev:EJsb5stcRAtJB48G8F7Cw3nwjxzwRtpJIrqU3WIJS1g=',
} as const;

/**
 * Every secret-shaped value published in the repository (defaults, examples, tests,
 * scripts, docs). Refused in production whatever variable it is given to.
 */
export const PUBLISHED_SECRETS: ReadonlySet<string> = new Set([
  ...Object.values(DEV_SECRETS),
  // test/utils/test-env.ts
  'sk_shop_test_0123456789abcdef',
  'sk_admin_test_0123456789abcdef',
  'sk_psp_test_0123456789abcdef',
  `whsec_${Buffer.from('hookline-test-signing-secret!!').toString('base64')}`,
  // the Standard Webhooks specification's test vector, used by the signature specs
  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
]);

/** Words that mark a placeholder rather than a secret (`sk_live_changeme…`, `…_dev_…`). */
const PLACEHOLDER =
  /(^|[_\-.:])(dev|test|demo|example|sample|changeme|change-me|placeholder|dummy|default)([_\-.:]|$)/i;

interface SecretRule {
  name: string;
  /** Whether production needs it set (an optional secret is checked only when set). */
  required: boolean;
  /** The separate secrets a value holds (a list, or key material inside an entry). */
  parts(value: string): string[];
  /** Why a part is too weak, or null. */
  weakness(part: string): string | null;
}

const atLeastChars = (min: number) => (part: string) =>
  part.length < min ? `too short to be a secret (${part.length} characters, at least ${min})` : null;

const commaList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The bytes of a `whsec_<base64>` secret (what Standard Webhooks signs with). */
const whsecBytes = (part: string) => Buffer.from(part.replace(/^whsec_/, ''), 'base64').length;

export const SECRET_RULES: readonly SecretRule[] = [
  { name: 'API_KEYS', required: true, parts: commaList, weakness: atLeastChars(32) },
  { name: 'ADMIN_API_KEYS', required: true, parts: commaList, weakness: atLeastChars(32) },
  { name: 'PSP_API_KEY', required: true, parts: (v) => [v.trim()], weakness: atLeastChars(32) },
  {
    name: 'PSP_WEBHOOK_SECRET',
    required: true,
    parts: (v) => v.split(/\s+/).filter(Boolean),
    weakness: (part) =>
      whsecBytes(part) < 24 ? `too short to be a secret (${whsecBytes(part)} bytes, at least 24)` : null,
  },
  {
    // `<keyId>:<base64 of 32 bytes>`, comma-separated: the key material is the secret.
    name: 'SEALING_KEYS',
    required: true,
    parts: (v) => commaList(v).flatMap((entry) => [entry, entry.slice(entry.indexOf(':') + 1)]),
    weakness: () => null, // its format (exactly 32 bytes) is checked with the other variables
  },
  { name: 'METRICS_TOKEN', required: false, parts: (v) => [v.trim()], weakness: atLeastChars(32) },
  // Checked when set (PSP_PROVIDER=stripe, or a Stripe webhook endpoint): Stripe issues them.
  { name: 'STRIPE_SECRET_KEY', required: false, parts: (v) => [v.trim()], weakness: atLeastChars(32) },
  {
    name: 'STRIPE_WEBHOOK_SECRET',
    required: false,
    parts: (v) => v.split(/\s+/).filter(Boolean),
    weakness: atLeastChars(32),
  },
];

export const SECRET_NAMES = SECRET_RULES.map((r) => r.name);

const isSet = (raw: Record<string, unknown>, name: string) => typeof raw[name] === 'string' && raw[name] !== '';

/**
 * The problems production has with the secrets in `raw`, one line per variable, each
 * naming the variable and what is wrong, never the value.
 */
export function productionSecretProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>();
  for (const rule of SECRET_RULES) {
    if (!isSet(raw, rule.name)) {
      if (rule.required) problems.push(`  - ${rule.name}: not set; production has no default for a secret`);
      continue;
    }
    const reasons = new Set<string>();
    for (const part of rule.parts(String(raw[rule.name]))) {
      if (PUBLISHED_SECRETS.has(part)) reasons.add('is a value published in the repository');
      else if (PLACEHOLDER.test(part)) reasons.add('looks like a placeholder (dev, test, example, changeme…)');
      const weak = rule.weakness(part);
      if (weak) reasons.add(weak);
      const owner = owners.get(part);
      if (owner && owner !== rule.name) reasons.add(`repeats a value of ${owner}; each secret must be its own`);
      owners.set(part, rule.name);
    }
    for (const reason of reasons) problems.push(`  - ${rule.name}: ${reason}`);
  }
  return problems;
}

/** What to do about them, printed under the list. */
export const PRODUCTION_SECRETS_HINT =
  'NODE_ENV=production refuses published, missing or weak secrets. Give each a fresh random value: ' +
  '`sh scripts/new-env.sh` writes a .env with them (SECURITY.md, "Secrets").';

/** The secrets left unset, that run on their published development defaults. */
export function devDefaultsInUse(raw: Record<string, unknown>): string[] {
  return Object.keys(DEV_SECRETS).filter((name) => !isSet(raw, name));
}
