import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { DEV_SECRETS } from '../production-secrets.js';
import { SIGNATURE_SCHEMES, type SignatureScheme } from '../../common/crypto/webhook-signature.js';
import { Doc, toInt, toBool, Range, WHSEC_LIST, KEY_LIST } from './env-decorators.js';

export const APP_ROLES = ['all', 'api', 'worker', 'psp'] as const;
export type AppRole = (typeof APP_ROLES)[number];

/**
 * The process: its role, its listener, its stores, its keys and the PSP it calls.
 */
export class ProcessEnv {
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
}
