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
  validateSync,
} from 'class-validator';

export const APP_ROLES = ['all', 'api', 'worker', 'psp'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export const SIGNATURE_SCHEMES = ['standard', 'stripe'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

const WHSEC = /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/;
const WHSEC_LIST = /^whsec_[A-Za-z0-9+/]{16,}={0,2}( +whsec_[A-Za-z0-9+/]{16,}={0,2})*$/;
const KEY_LIST = /^[A-Za-z0-9_\-.]{16,}(,[A-Za-z0-9_\-.]{16,})*$/;
const SENSITIVE = /KEY|SECRET|DATABASE_URL|REDIS_URL/;
const DEV_WEBHOOK_SECRET = 'whsec_aG9va2xpbmUtZGV2LW9ubHktc2lnbmluZy1rZXk=';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toFloat = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

/**
 * Every environment variable Hookline reads, with its default. Validated once at
 * boot; a missing or malformed value stops the process with a message naming it.
 * Keep `.env.example` and the README's configuration table in step with this class.
 */
export class Env {
  @IsIn(APP_ROLES)
  APP_ROLE: AppRole = 'all';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @Matches(/^postgres(ql)?:\/\/\S+\/\w+/, { message: 'DATABASE_URL must look like postgres://user@host:port/dbname' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/hookline';

  @Transform(toBool)
  @IsBoolean()
  DB_MIGRATE_ON_BOOT = true;

  @Matches(/^rediss?:\/\/\S+/, { message: 'REDIS_URL must look like redis://host:port' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Matches(/^[\w:.-]+$/, { message: 'REDIS_PREFIX must be letters, digits, ":", "." or "-"' })
  REDIS_PREFIX = 'hookline';

  @Matches(/^https?:\/\/[^/\s]+$/, {
    message: 'PUBLIC_BASE_URL must be an origin such as http://127.0.0.1:3000 (no path)',
  })
  @IsOptional()
  PUBLIC_BASE_URL?: string;

  @Matches(KEY_LIST, { message: 'API_KEYS must be a comma-separated list of keys of at least 16 characters' })
  API_KEYS = 'sk_shop_dev_0123456789abcdef';

  @Matches(KEY_LIST, { message: 'ADMIN_API_KEYS must be a comma-separated list of keys of at least 16 characters' })
  ADMIN_API_KEYS = 'sk_admin_dev_0123456789abcdef';

  @Matches(/^https?:\/\/[^/\s]+$/, {
    message: 'PSP_BASE_URL must be an origin such as http://127.0.0.1:3000 (no path)',
  })
  @IsOptional()
  PSP_BASE_URL?: string;

  @IsString()
  @MinLength(16)
  PSP_API_KEY = 'sk_psp_dev_0123456789abcdef';

  @Matches(WHSEC_LIST, {
    message: 'PSP_WEBHOOK_SECRET must be one or more space-separated secrets of the form whsec_<base64>',
  })
  PSP_WEBHOOK_SECRET = DEV_WEBHOOK_SECRET;

  @IsIn(SIGNATURE_SCHEMES)
  PSP_SIGNATURE_SCHEME: SignatureScheme = 'standard';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  WEBHOOK_TOLERANCE_S = 300;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(10 * 1024 * 1024)
  WEBHOOK_MAX_BODY_BYTES = 256 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  IDEMPOTENCY_TTL_H = 24;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  WEBHOOK_DEADLINE_MS = 7000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  SHORT_POLL_INTERVAL_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(30)
  LONG_POLL_WAIT_S = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  POLL_GIVE_UP_MS = 15 * 60_000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  RECONCILE_INTERVAL_MS = 60_000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_LIMIT_MAX = 6000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  RATE_LIMIT_WINDOW_S = 10;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  PSP_SETTLE_DELAY_MIN_MS = 200;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  PSP_SETTLE_DELAY_MAX_MS = 1500;

  @Transform(toFloat)
  @IsNumber()
  @Min(0)
  @Max(1)
  PSP_DECLINE_RATE = 0;

  @Transform(toFloat)
  @IsNumber()
  @Min(0)
  @Max(1)
  PSP_DROP_RATE = 0;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(30)
  PSP_DELIVERY_ATTEMPTS = 10;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  PSP_DELIVERY_BACKOFF_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  PSP_TIMEOUT_MS = 10000;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';
}

export const DEV_DEFAULTS = { webhookSecret: DEV_WEBHOOK_SECRET };
export { WHSEC };

/** Validates `raw` (usually `process.env`) and returns typed values with defaults. */
export function validateEnv(raw: Record<string, unknown>): Env {
  const known = Object.keys(new Env());
  const picked: Record<string, unknown> = {};
  for (const key of [...known, 'PUBLIC_BASE_URL', 'PSP_BASE_URL']) {
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
  if (problems.length > 0) {
    throw new Error(`Invalid configuration:\n${problems.join('\n')}`);
  }
  env.PUBLIC_BASE_URL ??= `http://127.0.0.1:${env.PORT}`;
  env.PSP_BASE_URL ??= `http://127.0.0.1:${env.PORT}`;
  return env;
}

export const splitList = (value: string, sep: string | RegExp = ','): string[] =>
  value
    .split(sep)
    .map((s) => s.trim())
    .filter(Boolean);

/** Types the ConfigService: `ConfigService<Env, true>` then `config.get('PORT', { infer: true })`. */
export type AllConfig = Env;
