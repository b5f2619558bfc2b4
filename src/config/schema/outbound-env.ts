import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Matches, ValidateBy } from 'class-validator';
import { DURATION_LIST_PATTERN, DURATION_PATTERN } from '../../common/duration.js';
import { DAY_MS } from '../bounds.js';
import { sealingKeysProblem } from '../../common/crypto/secret-sealer.js';
import { Doc, toInt, Range, DurationAtMost, RetrySteps } from './env-decorators.js';
import { PollingEnv } from './polling-env.js';

/**
 * Outbound webhooks: retries, timeouts, address allow-lists, signing secrets, disabling,
 * retention, concurrency, sweeps. Extends PollingEnv, so that the variables keep their order in
 * docs/configuration.md.
 */
export class OutboundEnv extends PollingEnv {
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
}
