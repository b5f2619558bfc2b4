import { isIP } from 'node:net';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  validateSync,
  type ValidationArguments,
} from 'class-validator';
import {
  DURATION_LIST_PATTERN,
  DURATION_PATTERN,
  formatDuration,
  parseDuration,
  parseDurationList,
} from '../common/duration.js';
import { RETENTION_INTERVAL_MS } from '../common/db/delete-in-batches.js';
import { DAY_MS, HOUR_MS, MAX_INT4, MAX_RETRY_STEP_MS, MAX_RETRY_STEPS, SECOND_MS } from './bounds.js';
import { DEV_SECRETS, PRODUCTION_SECRETS_HINT, SECRET_NAMES, productionSecretProblems } from './production-secrets.js';
import { sealingKeysProblem } from '../common/crypto/secret-sealer.js';
import { SIGNATURE_SCHEMES, type SignatureScheme } from '../common/crypto/webhook-signature.js';

/** The shortest retention accepted for each table kept by age, and why. */
const MIN_RETENTIONS = [
  { name: 'WEBHOOK_RETENTION', min: '1h', why: 'so a delivered message can still be looked up' },
  {
    name: 'INBOX_RETENTION',
    min: '3d',
    why: 'longer than any sender retries an event (Stripe: 3 days), so a late redelivery is still known as a duplicate',
  },
] as const;

export const APP_ROLES = ['all', 'api', 'worker', 'psp'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export const DOCS_ACCESS_MODES = ['public', 'admin', 'off'] as const;
export type DocsAccess = (typeof DOCS_ACCESS_MODES)[number];

const WHSEC = /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/;
const WHSEC_LIST = /^whsec_[A-Za-z0-9+/]{16,}={0,2}( +whsec_[A-Za-z0-9+/]{16,}={0,2})*$/;
const KEY_LIST = /^[A-Za-z0-9_\-.]{16,}(,[A-Za-z0-9_\-.]{16,})*$/;
/** Meaning of each variable, in declaration order: the source of the table in docs/configuration.md and .env.example. */
const DOCS = new Map<string, string>();
const Doc =
  (meaning: string): PropertyDecorator =>
  (_target, key) => {
    DOCS.set(String(key), meaning);
  };

const SENSITIVE = /KEY|SECRET|TOKEN|DATABASE_URL|REDIS_URL/;
/** SEALING_KEYS outside production when unset: published, so never a production key. */
export const DEV_SEALING_KEYS: string = DEV_SECRETS.SEALING_KEYS;

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toFloat = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

// Every number and duration has a largest value the code can store and honour, named in the
// message with the allowed range (docs/decisions/0401-bounded-configuration.md).
const withUnit = (name: string, n: number) =>
  name.endsWith('_MS') && n >= 1000 ? `${n} (${formatDuration(n)})` : `${n}`;

/** `min` ≤ value ≤ `max`; either failure names the whole range. */
const Range =
  (min: number, max: number): PropertyDecorator =>
  (target, key) => {
    const message = ({ property }: ValidationArguments) =>
      `${property} must be from ${withUnit(property, min)} to ${withUnit(property, max)}`;
    Min(min, { message })(target, key);
    Max(max, { message })(target, key);
  };

/** A duration (checked by its @Matches) of at most `max`; `min` is for the message (a longer check may own it). */
const DurationAtMost = (max: string, min = '0s'): PropertyDecorator =>
  ValidateBy({
    name: 'durationAtMost',
    validator: {
      validate: (v) => typeof v !== 'string' || !DURATION_PATTERN.test(v) || parseDuration(v) <= parseDuration(max),
      defaultMessage: (a) => `${a?.property} must be a duration from ${min} to ${max}`,
    },
  });

/** A retry schedule (checked by its @Matches) of at most MAX_RETRY_STEPS waits of at most MAX_RETRY_STEP_MS each. */
const RetrySteps = (): PropertyDecorator =>
  ValidateBy({
    name: 'retrySteps',
    validator: {
      validate: (v) => {
        if (typeof v !== 'string' || !DURATION_LIST_PATTERN.test(v)) return true;
        const steps = parseDurationList(v);
        return steps.length <= MAX_RETRY_STEPS && steps.every((ms) => ms <= MAX_RETRY_STEP_MS);
      },
      defaultMessage: (a) =>
        `${a?.property} must list 1 to ${MAX_RETRY_STEPS} waits, each from 0ms to ${formatDuration(MAX_RETRY_STEP_MS)}`,
    },
  });

/**
 * Every environment variable Hookline reads, with its default. Validated once at
 * boot; a missing or malformed value stops the process with a message naming it.
 * Keep `.env.example` and the table in docs/configuration.md in step with this class.
 */
export class Env {
  @Doc('Process role: all (everything in one process) | api | worker | psp.')
  @IsIn(APP_ROLES)
  APP_ROLE: AppRole = 'all';

  @Doc('HTTP port every role listens on.')
  @Transform(toInt)
  @IsInt()
  @Range(0, 65535)
  PORT = 3000;

  @Doc('Interface to bind.')
  @IsString()
  HOST = '0.0.0.0';

  @Doc('PostgreSQL connection string; the database is created if missing.')
  @Matches(/^postgres(ql)?:\/\/\S+\/\w+/, { message: 'DATABASE_URL must look like postgres://user@host:port/dbname' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/hookline';

  @Doc('Run pending migrations at boot (under an advisory lock); false when a separate migrate step runs them.')
  @Transform(toBool)
  @IsBoolean()
  DB_MIGRATE_ON_BOOT = true;

  @Doc('Redis connection string (queues only; may be lost).')
  @Matches(/^rediss?:\/\/\S+/, { message: 'REDIS_URL must look like redis://host:port' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Doc('Key prefix of the Bull queues; give each stack sharing a Redis its own.')
  @Matches(/^[\w:.-]+$/, { message: 'REDIS_PREFIX must be letters, digits, ":", "." or "-"' })
  REDIS_PREFIX = 'hookline';

  @Matches(/^https?:\/\/[^/\s]+$/, {
    message: 'PUBLIC_BASE_URL must be an origin such as http://127.0.0.1:3000 (no path)',
  })
  @Doc(
    'Origin the PSP calls back (callback_url = PUBLIC_BASE_URL/webhooks/psp), no path. Default: http://127.0.0.1:$PORT.',
  )
  @IsOptional()
  PUBLIC_BASE_URL?: string;

  @Doc(
    'Shop API keys (Authorization: Bearer <key>), comma-separated, 16+ characters each (32+ and not published in production).',
  )
  @Matches(KEY_LIST, { message: 'API_KEYS must be a comma-separated list of keys of at least 16 characters' })
  API_KEYS: string = DEV_SECRETS.API_KEYS;

  @Doc(
    'Admin API keys, comma-separated, 16+ characters each (32+ and not published in production): their own realm (they do not open the shop or PSP APIs).',
  )
  @Matches(KEY_LIST, { message: 'ADMIN_API_KEYS must be a comma-separated list of keys of at least 16 characters' })
  ADMIN_API_KEYS: string = DEV_SECRETS.ADMIN_API_KEYS;

  @Matches(/^https?:\/\/[^/\s]+$/, {
    message: 'PSP_BASE_URL must be an origin such as http://127.0.0.1:3000 (no path)',
  })
  @Doc('Origin of the PSP API the shop calls (its routes are under /psp/v1), no path. Default: http://127.0.0.1:$PORT.')
  @IsOptional()
  PSP_BASE_URL?: string;

  @Doc(
    "The PSP's own API key, used by the shop to call it and checked by the PSP mock, 16+ characters (32+ and not published in production).",
  )
  @IsString()
  @MinLength(16)
  PSP_API_KEY: string = DEV_SECRETS.PSP_API_KEY;

  @Matches(WHSEC_LIST, {
    message: 'PSP_WEBHOOK_SECRET must be one or more space-separated secrets of the form whsec_<base64>',
  })
  @Doc(
    'PSP webhook signing secret(s), whsec_<base64>; several space-separated during rotation (24+ bytes and not published in production).',
  )
  PSP_WEBHOOK_SECRET: string = DEV_SECRETS.PSP_WEBHOOK_SECRET;

  @Doc(
    'Signature scheme of PSP webhooks, for the PSP mock (signs) and the shop (verifies): standard (Standard Webhooks webhook-* headers) | stripe (Stripe-Signature).',
  )
  @IsIn(SIGNATURE_SCHEMES)
  PSP_SIGNATURE_SCHEME: SignatureScheme = 'standard';

  @Doc('Accepted clock skew of webhook-timestamp, in seconds, both ways (replay protection).')
  @Transform(toInt)
  @IsInt()
  @Range(1, 3600)
  WEBHOOK_TOLERANCE_S = 300;

  @Doc('Largest accepted request body in bytes (413 above).')
  @Transform(toInt)
  @IsInt()
  @Range(1024, 10 * 1024 * 1024)
  WEBHOOK_MAX_BODY_BYTES = 256 * 1024;

  @Doc(
    'Unprocessed inbox rows above which the webhook receiver answers 429 with Retry-After instead of accepting more.',
  )
  @Transform(toInt)
  @IsInt()
  @Range(1, MAX_INT4)
  INBOX_BACKLOG_LIMIT = 10_000;

  @Doc('How often the inbox sweeper looks for rows the queue lost (Redis flushed or down), in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, DAY_MS)
  INBOX_SWEEP_INTERVAL_MS = 10_000;

  @Doc('An unprocessed inbox row not queued for this long is re-enqueued by the sweeper, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, DAY_MS)
  INBOX_SWEEP_STALE_MS = 30_000;

  @Doc(
    'How long the receiver waits for Redis to take a job before it answers anyway (the row is stored; the sweeper enqueues it later), in ms.',
  )
  @Transform(toInt)
  @IsInt()
  @Range(50, 30 * SECOND_MS)
  ENQUEUE_TIMEOUT_MS = 1000;

  @Doc(
    'Attempts to apply an inbox row before it is marked dead (listed and replayed under /webhooks/inbox); docs/decisions/0502.',
  )
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  INBOX_MAX_ATTEMPTS = 10;

  @Doc('Delay before an inbox row that failed is tried again, doubled after each failure, in ms.')
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  INBOX_RETRY_BACKOFF_MS = 5_000;

  @Doc('Longest delay between two attempts to apply an inbox row, in ms.')
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  INBOX_RETRY_BACKOFF_MAX_MS = 600_000;

  @Doc(
    'Inbound webhooks: an inbox row processed (applied or ignored) longer ago than this is deleted (checked every 15 min; at least 3d, longer than any sender retries; e.g. 30d).',
  )
  @Matches(DURATION_PATTERN, { message: 'INBOX_RETENTION must be a duration such as 30d' })
  @DurationAtMost('3650d', '3d')
  INBOX_RETENTION = '30d';

  @Doc(
    'How long after a process starts it first runs its housekeeping (the inbox and outbound retentions, the Idempotency-Key purge), in ms; then every 15 min. At most 15 min.',
  )
  @Transform(toInt)
  @IsInt()
  @Range(0, RETENTION_INTERVAL_MS)
  HOUSEKEEPING_DELAY_MS = 60_000;

  @Doc('How long an Idempotency-Key and its stored answer are kept, in hours (purged every 15 min).')
  @Transform(toInt)
  @IsInt()
  @Range(1, 24 * 30)
  IDEMPOTENCY_TTL_H = 24;

  @Doc('A webhook payment without a result this long after the PSP accepted it gets a fallback poll, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, DAY_MS)
  WEBHOOK_DEADLINE_MS = 7000;

  @Doc('short_polling: time between polls, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, HOUR_MS)
  SHORT_POLL_INTERVAL_MS = 1000;

  @Doc('long_polling: how long each GET ?wait= may be held by the PSP, in seconds (1-30).')
  @Transform(toInt)
  @IsInt()
  @Range(1, 30)
  LONG_POLL_WAIT_S = 10;

  @Doc('Polling stops after this age without a final result and the payment gets attentionReason, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(1000, 7 * DAY_MS)
  POLL_GIVE_UP_MS = 15 * 60_000;

  @Doc("How often reconciliation reads the PSP's events API, in ms.")
  @Transform(toInt)
  @IsInt()
  @Range(1000, DAY_MS)
  RECONCILE_INTERVAL_MS = 60_000;

  @Doc('Rate limit of the shop and PSP APIs: requests per window per API key (per client address without a valid one).')
  @Transform(toInt)
  @IsInt()
  @Range(1, 1_000_000)
  RATE_LIMIT_MAX = 6000;

  @Doc('Length of the rate-limit window, in seconds.')
  @Transform(toInt)
  @IsInt()
  @Range(1, 3600)
  RATE_LIMIT_WINDOW_S = 10;

  @Doc(
    'Outbound webhooks: waits between delivery attempts after each failure (500ms, 5s, 5m, 2h, 5d), ±20 % jitter; attempts = steps + 1.',
  )
  @Matches(DURATION_LIST_PATTERN, {
    message: 'WEBHOOK_RETRY_SCHEDULE must be a comma-separated list such as 5s,5m,30m,2h',
  })
  @RetrySteps()
  WEBHOOK_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

  @Doc('Outbound webhooks: one attempt fails unless a 2xx arrives within this long, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, 120_000)
  WEBHOOK_ATTEMPT_TIMEOUT_MS = 15_000;

  @Doc(
    "Outbound webhooks: CIDRs that endpoints registered through the APIs (merchants' endpoints) may call although private, loopback, link-local or otherwise special-purpose (comma-separated; none: no exception). Default: loopback (127.0.0.0/8,::1/128), or none when NODE_ENV=production.",
  )
  @IsOptional()
  @Matches(/^(none|[0-9a-fA-F:.]+(\/\d{1,3})?(\s*,\s*[0-9a-fA-F:.]+(\/\d{1,3})?)*)$/, {
    message: 'WEBHOOK_ALLOWED_CIDRS must be none or a comma-separated list of CIDRs such as 10.0.0.0/8,::1/128',
  })
  WEBHOOK_ALLOWED_CIDRS?: string;

  @Doc(
    "PSP mock: CIDRs its callback deliveries (a payment's callback_url) may call although private or loopback; merchants' endpoints never use it (see docs/decisions/0301-psp-callback-allow-list.md). Default: loopback (127.0.0.0/8,::1/128), or none when NODE_ENV=production.",
  )
  @IsOptional()
  @Matches(/^(none|[0-9a-fA-F:.]+(\/\d{1,3})?(\s*,\s*[0-9a-fA-F:.]+(\/\d{1,3})?)*)$/, {
    message: 'PSP_CALLBACK_ALLOWED_CIDRS must be none or a comma-separated list of CIDRs such as 172.16.0.0/12,::1/128',
  })
  PSP_CALLBACK_ALLOWED_CIDRS?: string;

  @Doc('Outbound webhooks: after a secret rotation the previous secret signs too, this long (e.g. 24h).')
  @Matches(DURATION_PATTERN, { message: 'WEBHOOK_ROTATION_GRACE must be a duration such as 24h' })
  @DurationAtMost('30d')
  WEBHOOK_ROTATION_GRACE = '24h';

  @Doc(
    'Outbound webhooks: keys that seal endpoint signing secrets at rest (AES-256-GCM), comma-separated <keyId>:<base64 of 32 bytes> (openssl rand -base64 32), key ids of a-z, 0-9 and -; the first seals, every one opens (rotation: docs/security/sealed-secrets.md). Required when NODE_ENV=production; otherwise a development key.',
  )
  @IsOptional()
  @ValidateBy({
    name: 'isSealingKeys',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && sealingKeysProblem(value) === null,
      defaultMessage: (args) =>
        typeof args?.value === 'string'
          ? (sealingKeysProblem(args.value) ?? 'is malformed')
          : 'must be <keyId>:<base64 key>[,…]',
    },
  })
  SEALING_KEYS?: string;

  @Doc('Outbound webhooks: an endpoint failing this long without one success is disabled (e.g. 5d).')
  @Matches(DURATION_PATTERN, { message: 'WEBHOOK_DISABLE_AFTER must be a duration such as 5d' })
  @DurationAtMost('30d')
  WEBHOOK_DISABLE_AFTER = '5d';

  @Doc(
    'Outbound webhooks: a message older than this whose deliveries are all final is deleted with its deliveries and attempts (checked every 15 min; at least 1h; e.g. 30d).',
  )
  @Matches(DURATION_PATTERN, { message: 'WEBHOOK_RETENTION must be a duration such as 30d' })
  @DurationAtMost('3650d', '1h')
  WEBHOOK_RETENTION = '30d';

  @Doc('Outbound webhooks: deliveries in flight per worker process.')
  @Transform(toInt)
  @IsInt()
  @Range(1, 1000)
  WEBHOOK_DELIVERY_CONCURRENCY = 64;

  @Doc(
    'Outbound webhooks: deliveries in flight to one endpoint per worker process, so a slow endpoint cannot take every slot.',
  )
  @Transform(toInt)
  @IsInt()
  @Range(1, 1000)
  WEBHOOK_ENDPOINT_CONCURRENCY = 16;

  @Doc('Outbound webhooks: how often due deliveries without a queued job (Redis lost) are re-enqueued, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, DAY_MS)
  WEBHOOK_SWEEP_INTERVAL_MS = 10_000;

  @Doc('Outbound webhooks: a delivery this long past its due time without an attempt counts as lost from Redis, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, DAY_MS)
  WEBHOOK_SWEEP_STALE_MS = 30_000;

  @Doc('PSP mock: shortest delay before a payment settles, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(0, DAY_MS)
  PSP_SETTLE_DELAY_MIN_MS = 200;

  @Doc('PSP mock: longest delay before a payment settles, in ms (not below the minimum).')
  @Transform(toInt)
  @IsInt()
  @Range(0, DAY_MS)
  PSP_SETTLE_DELAY_MAX_MS = 1500;

  @Doc('PSP mock: share of pm_card_ok payments declined anyway (0-1; PUT /psp/v1/chaos overrides).')
  @Transform(toFloat)
  @IsNumber()
  @Range(0, 1)
  PSP_DECLINE_RATE = 0;

  @Doc('PSP mock: share of webhook deliveries dropped, never sent (0-1; PUT /psp/v1/chaos overrides).')
  @Transform(toFloat)
  @IsNumber()
  @Range(0, 1)
  PSP_DROP_RATE = 0;

  @Doc('PSP mock: share of webhook deliveries sent twice (0-1; PUT /psp/v1/chaos overrides).')
  @Transform(toFloat)
  @IsNumber()
  @Range(0, 1)
  PSP_DUPLICATE_RATE = 0;

  @Doc(
    'PSP mock: share of webhook deliveries held back 1-3 s so later ones overtake them (0-1; PUT /psp/v1/chaos overrides).',
  )
  @Transform(toFloat)
  @IsNumber()
  @Range(0, 1)
  PSP_REORDER_RATE = 0;

  @Doc(
    'PSP mock: share of webhook deliveries whose first attempt is deliberately mis-signed (0-1; PUT /psp/v1/chaos overrides).',
  )
  @Transform(toFloat)
  @IsNumber()
  @Range(0, 1)
  PSP_TAMPER_RATE = 0;

  @Doc('PSP mock: shortest extra delay before a webhook delivery, in ms (PUT /psp/v1/chaos overrides).')
  @Transform(toInt)
  @IsInt()
  @Range(0, 600_000)
  PSP_DELIVERY_DELAY_MIN_MS = 0;

  @Doc(
    'PSP mock: longest extra delay before a webhook delivery, in ms (not below the minimum; PUT /psp/v1/chaos overrides).',
  )
  @Transform(toInt)
  @IsInt()
  @Range(0, 600_000)
  PSP_DELIVERY_DELAY_MAX_MS = 0;

  @Doc('PSP mock: delivery attempts per webhook before it is marked failed (1-30).')
  @Transform(toInt)
  @IsInt()
  @Range(1, 30)
  PSP_DELIVERY_ATTEMPTS = 10;

  @Doc('PSP mock: base of the exponential backoff between delivery attempts, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(10, MAX_RETRY_STEP_MS)
  PSP_DELIVERY_BACKOFF_MS = 1000;

  @Doc('Timeout of one call from the shop to the PSP API, in ms.')
  @Transform(toInt)
  @IsInt()
  @Range(100, 120_000)
  PSP_TIMEOUT_MS = 10000;

  @Doc('Most verbose log level: fatal | error | warn | log | debug | verbose.')
  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';

  @Doc(
    'Log output: json (one JSON object a line), pretty (for people), or auto (pretty on a terminal outside production, else json)',
  )
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: 'auto' | 'json' | 'pretty' = 'auto';

  @Doc(
    'Bearer token /metrics on the main port requires (Authorization: Bearer <token>), 32+ characters; unset: open. In production set this or METRICS_PORT.',
  )
  @IsOptional()
  @Matches(/^[\x21-\x7e]{32,}$/, { message: 'METRICS_TOKEN must be at least 32 printable characters without spaces' })
  METRICS_TOKEN?: string = undefined;

  @Doc(
    'Serve /metrics on its own listener on this port (and not on PORT); unset: on PORT. In production set this or METRICS_TOKEN.',
  )
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  METRICS_PORT?: number = undefined;

  @Doc('Interface the METRICS_PORT listener binds: keep it internal (loopback or a private network).')
  @IsString()
  METRICS_HOST = '127.0.0.1';

  @Doc(
    'Swagger UI (/docs) and the OpenAPI document (/docs-json): public | admin (an ADMIN_API_KEYS key, Bearer or Basic) | off (not served). Default: public, or off when NODE_ENV=production.',
  )
  @IsOptional()
  @IsIn(DOCS_ACCESS_MODES)
  DOCS_ACCESS?: DocsAccess = undefined;

  @Doc(
    'Proxies whose X-Forwarded-For/-Proto count (addresses or CIDRs, comma-separated; none: no proxy is trusted). HSTS is sent only to requests that arrived over TLS, directly or through one of these.',
  )
  @IsString()
  TRUST_PROXY = 'none';
}

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
  env.PUBLIC_BASE_URL ??= `http://127.0.0.1:${env.PORT}`;
  env.PSP_BASE_URL ??= `http://127.0.0.1:${env.PORT}`;
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
