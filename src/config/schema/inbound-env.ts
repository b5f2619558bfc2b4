import { Transform } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { DURATION_PATTERN } from '../../common/duration.js';
import { RETENTION_INTERVAL_MS } from '../../common/db/delete-in-batches.js';
import { DAY_MS, MAX_INT4, SECOND_MS } from '../bounds.js';
import { Doc, toInt, Range, DurationAtMost } from './env-decorators.js';
import { ProcessEnv } from './process-env.js';

/**
 * Inbound webhooks: the receiver, the inbox and its retention; the housekeeping timing and
 * Idempotency-Keys. Extends ProcessEnv, so that the variables keep their order in
 * docs/configuration.md.
 */
export class InboundEnv extends ProcessEnv {
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

  @Doc(
    'How long an Idempotency-Key and its stored answer are kept, in hours (idempotency_keys rows purged every 15 min; a key kept on an order or payment is free again once older).',
  )
  @Transform(toInt)
  @IsInt()
  @Range(1, 24 * 30)
  IDEMPOTENCY_TTL_H = 24;
}
