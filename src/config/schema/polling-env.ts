import { Transform } from 'class-transformer';
import { IsInt } from 'class-validator';
import { DAY_MS, HOUR_MS } from '../bounds.js';
import { Doc, toInt, Range } from './env-decorators.js';
import { InboundEnv } from './inbound-env.js';

/**
 * Payment results the shop fetches (fallback, short and long polls, reconciliation) and the APIs'
 * rate limit. Extends InboundEnv, so that the variables keep their order in
 * docs/configuration.md.
 */
export class PollingEnv extends InboundEnv {
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
}
