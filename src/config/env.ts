import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../common/duration.js';
import { DAY_MS, MAX_RETRY_STEP_MS } from './bounds.js';
import { DEV_SECRETS, PRODUCTION_SECRETS_HINT, SECRET_NAMES, productionSecretProblems } from './production-secrets.js';
import { DOCS, WHSEC } from './schema/env-decorators.js';
import { TlsEnv } from './schema/tls-env.js';

export { APP_ROLES, type AppRole } from './schema/process-env.js';
export { DOCS_ACCESS_MODES, type DocsAccess } from './schema/operations-env.js';
export { PSP_PROVIDERS, type PspProvider } from './schema/stripe-env.js';

/** The shortest retention accepted for each table kept by age, and why. */
const MIN_RETENTIONS = [
  { name: 'WEBHOOK_RETENTION', min: '1h', why: 'so a delivered message can still be looked up' },
  {
    name: 'INBOX_RETENTION',
    min: '3d',
    why: 'longer than any sender retries an event (Stripe: 3 days), so a late redelivery is still known as a duplicate',
  },
] as const;

const SENSITIVE = /KEY|SECRET|TOKEN|DATABASE_URL|REDIS_URL/;
/** SEALING_KEYS outside production when unset: published, so never a production key. */
export const DEV_SEALING_KEYS: string = DEV_SECRETS.SEALING_KEYS;

/**
 * Every environment variable Hookline reads, with its default. Validated once at
 * boot; a missing or malformed value stops the process with a message naming it.
 * Declared by concern in src/config/schema/ (process, inbound, polling, outbound, PSP
 * mock, operations, Stripe, TLS), each class extending the one before so that the variables keep
 * their order; `npm run docs:config` writes .env.example and docs/configuration.md from them.
 */
export class Env extends TlsEnv {}

/** What development and tests allow by default: the PSP mock calls back the shop on loopback. */
export const LOOPBACK_CIDRS = '127.0.0.0/8,::1/128';

export { WHSEC };

/** Validates `raw` (usually `process.env`) and returns typed values with defaults. */
export function validateEnv(raw: Record<string, unknown>): Env {
  const known = Object.keys(new Env());
  const picked: Record<string, unknown> = {};
  for (const key of [
    ...known,
    'PUBLIC_BASE_URL',
    'PSP_BASE_URL',
    'WEBHOOK_ALLOWED_CIDRS',
    'PSP_CALLBACK_ALLOWED_CIDRS',
    'SEALING_KEYS',
  ]) {
    const value = raw[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const env = plainToInstance(Env, picked, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  const problems = errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map(
      (msg) => `  - ${e.property}: ${msg}${SENSITIVE.test(e.property) ? '' : ` (got ${JSON.stringify(e.value)})`}`,
    ),
  );
  if (env.PSP_SETTLE_DELAY_MIN_MS > env.PSP_SETTLE_DELAY_MAX_MS) {
    problems.push('  - PSP_SETTLE_DELAY_MIN_MS: must not exceed PSP_SETTLE_DELAY_MAX_MS');
  }
  if (env.PSP_DELIVERY_DELAY_MIN_MS > env.PSP_DELIVERY_DELAY_MAX_MS) {
    problems.push('  - PSP_DELIVERY_DELAY_MIN_MS: must not exceed PSP_DELIVERY_DELAY_MAX_MS');
  }
  problems.push(...crossFieldBounds(env, errors));
  problems.push(...stripeProblems(env, raw.NODE_ENV === 'production'));
  for (const { name, min, why } of MIN_RETENTIONS) {
    const value = env[name];
    if (DURATION_PATTERN.test(value) && parseDuration(value) < parseDuration(min)) {
      problems.push(`  - ${name}: must be at least ${min}, ${why} (got ${JSON.stringify(value)})`);
    }
  }
  if (env.TRUST_PROXY.trim() !== 'none' && !splitList(env.TRUST_PROXY).every(isAddressOrCidr)) {
    problems.push(
      `  - TRUST_PROXY: must be none or a comma-separated list of addresses or CIDRs such as 10.0.0.0/8,127.0.0.1 (got ${JSON.stringify(env.TRUST_PROXY)})`,
    );
  }
  problems.push(...tlsFileProblems(env));
  // Metrics name the shop's backlogs and partners: production must not serve them to anyone who asks.
  if (raw.NODE_ENV === 'production' && env.METRICS_TOKEN === undefined && env.METRICS_PORT === undefined) {
    problems.push(
      '  - METRICS_TOKEN, METRICS_PORT: in production set one of them (a bearer token for /metrics, or a port of its own on an internal METRICS_HOST)',
    );
  }
  const unsafeSecrets = raw.NODE_ENV === 'production' ? productionSecretProblems(raw) : [];
  problems.push(...unsafeSecrets);
  if (problems.length > 0) {
    const hint = unsafeSecrets.length > 0 ? `\n${PRODUCTION_SECRETS_HINT}` : '';
    throw new Error(`Invalid configuration:\n${problems.join('\n')}${hint}`);
  }
  // The process's own port speaks HTTPS only when TLS_* are set: the defaults follow it.
  const scheme = env.TLS_CERT_FILE !== undefined ? 'https' : 'http';
  env.PUBLIC_BASE_URL ??= `${scheme}://127.0.0.1:${env.PORT}`;
  env.PSP_BASE_URL ??= `${scheme}://127.0.0.1:${env.PORT}`;
  env.WEBHOOK_HTTPS_ONLY ??= raw.NODE_ENV === 'production';
  env.WEBHOOK_ALLOWED_CIDRS ??= raw.NODE_ENV === 'production' ? 'none' : LOOPBACK_CIDRS;
  env.PSP_CALLBACK_ALLOWED_CIDRS ??= raw.NODE_ENV === 'production' ? 'none' : LOOPBACK_CIDRS;
  env.SEALING_KEYS ??= DEV_SEALING_KEYS;
  env.DOCS_ACCESS ??= raw.NODE_ENV === 'production' ? 'off' : 'public';
  return env;
}

/**
 * Bounds that involve two variables, checked only when each is valid on its own. The PSP
 * mock's last wait, PSP_DELIVERY_BACKOFF_MS·2^(PSP_DELIVERY_ATTEMPTS−2), is a retry step:
 * at most MAX_RETRY_STEP_MS (docs/decisions/0401-bounded-configuration.md).
 */
function crossFieldBounds(env: Env, errors: { property: string }[]): string[] {
  const invalid = new Set(errors.map((e) => e.property));
  if (invalid.has('PSP_DELIVERY_ATTEMPTS') || invalid.has('PSP_DELIVERY_BACKOFF_MS')) return [];
  const base = env.PSP_DELIVERY_BACKOFF_MS;
  const lastStepMs = base * 2 ** Math.max(0, env.PSP_DELIVERY_ATTEMPTS - 2);
  if (lastStepMs <= MAX_RETRY_STEP_MS) return [];
  const most = 2 + Math.floor(Math.log2(MAX_RETRY_STEP_MS / base));
  return [
    `  - PSP_DELIVERY_ATTEMPTS, PSP_DELIVERY_BACKOFF_MS: the last wait, PSP_DELIVERY_BACKOFF_MS·2^(PSP_DELIVERY_ATTEMPTS−2), ` +
      `must be at most ${formatDuration(MAX_RETRY_STEP_MS)}; with PSP_DELIVERY_BACKOFF_MS=${base}, PSP_DELIVERY_ATTEMPTS ` +
      `must be from 1 to ${most} (got ${env.PSP_DELIVERY_ATTEMPTS}: a last wait of ${(lastStepMs / DAY_MS).toFixed(1)} days)`,
  ];
}

/**
 * PSP_PROVIDER=stripe needs a secret key; in production the SDK talks to Stripe itself,
 * never to a STRIPE_API_BASE (the mock's dialect), which would take no real money
 * (docs/decisions/1005-stripe-production-checks.md).
 */
function stripeProblems(env: Env, production: boolean): string[] {
  if (env.PSP_PROVIDER !== 'stripe') return [];
  const problems: string[] = [];
  if (!env.STRIPE_SECRET_KEY) problems.push('  - STRIPE_SECRET_KEY: required with PSP_PROVIDER=stripe');
  if (production && env.STRIPE_API_BASE) {
    problems.push(
      "  - STRIPE_API_BASE: production calls Stripe itself; unset it (it only points the SDK at the PSP mock's Stripe dialect)",
    );
  }
  return problems;
}

/** TLS_CERT_FILE and TLS_KEY_FILE together or not at all; every PEM file named must be readable. */
function tlsFileProblems(env: Env): string[] {
  const problems: string[] = [];
  if ((env.TLS_CERT_FILE === undefined) !== (env.TLS_KEY_FILE === undefined)) {
    problems.push('  - TLS_CERT_FILE, TLS_KEY_FILE: set both (HTTPS only) or neither (plain HTTP)');
  }
  for (const name of [
    'TLS_CERT_FILE',
    'TLS_KEY_FILE',
    'PSP_CA_FILE',
    'OUTBOUND_CA_FILE',
    'PSP_MOCK_CA_FILE',
  ] as const) {
    const path = env[name];
    if (path === undefined) continue;
    try {
      if (!readFileSync(path, 'utf8').includes('-----BEGIN ')) {
        problems.push(`  - ${name}: ${path} holds no PEM block`);
      }
    } catch (err) {
      problems.push(
        `  - ${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  return problems;
}

/** An IPv4/IPv6 address, optionally with a prefix length that fits it (10.0.0.0/8, ::1/128). */
function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}

export const splitList = (value: string, sep: string | RegExp = ','): string[] =>
  value
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);

/** Types the ConfigService: `ConfigService<Env, true>` then `config.get('PORT', { infer: true })`. */
export type AllConfig = Env;

export interface ConfigDoc {
  name: string;
  /** The default as written in the environment; null when derived (see meaning). */
  default: string | null;
  /** A secret: .env.example leaves it empty, production refuses its default. */
  secret: boolean;
  meaning: string;
}

/** Every variable with its default and meaning, in declaration order (npm run docs:config). */
export function configDocs(): ConfigDoc[] {
  const defaults = new Env() as unknown as Record<string, string | number | boolean | undefined>;
  return [...DOCS].map(([name, meaning]) => ({
    name,
    default: defaults[name] === undefined ? null : String(defaults[name]),
    meaning,
    secret: SECRET_NAMES.includes(name),
  }));
}
