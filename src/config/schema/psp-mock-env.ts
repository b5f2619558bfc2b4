import { Transform } from 'class-transformer';
import { IsInt, IsNumber } from 'class-validator';
import { DAY_MS, MAX_RETRY_STEP_MS } from '../bounds.js';
import { Doc, toInt, toFloat, Range } from './env-decorators.js';
import { OutboundEnv } from './outbound-env.js';

/**
 * The PSP mock: settlement, chaos and its deliveries; and the shop's timeout calling it. Extends
 * OutboundEnv, so that the variables keep their order in docs/configuration.md.
 */
export class PspMockEnv extends OutboundEnv {
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

  @Doc(
    "Most connections the shop's PSP client keeps open at once (each long poll holds one): " +
      'docs/decisions/1101-psp-client-connections.md.',
  )
  @Transform(toInt)
  @IsInt()
  @Range(1, 10_000)
  PSP_CLIENT_CONNECTIONS = 64;
}
