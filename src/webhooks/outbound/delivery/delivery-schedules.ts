import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../../config/env.js';
import type { OutboundOwner } from '../outbound.entities.js';
import { RetrySchedule } from '../retry-schedule.js';

/** The longest Retry-After the PSP mock's sender honours. */
export const PSP_MAX_RETRY_AFTER_MS = 10 * 60_000;

/** The retry schedule of each owner's deliveries: the shop's from WEBHOOK_RETRY_SCHEDULE, the PSP mock's own. */
@Injectable()
export class DeliverySchedules {
  private readonly schedules: Record<OutboundOwner, RetrySchedule>;

  constructor(config: ConfigService<AllConfig, true>) {
    this.schedules = {
      shop: RetrySchedule.parse(config.get('WEBHOOK_RETRY_SCHEDULE', { infer: true })),
      // The PSP mock retries as its own settings say (fast, so the shop's receiver is
      // exercised) and waits as long as the shop's backpressure asks, up to 10 min.
      psp: RetrySchedule.exponential(
        config.get('PSP_DELIVERY_ATTEMPTS', { infer: true }),
        config.get('PSP_DELIVERY_BACKOFF_MS', { infer: true }),
        PSP_MAX_RETRY_AFTER_MS,
      ),
    };
  }

  for(owner: OutboundOwner): RetrySchedule {
    return this.schedules[owner];
  }
}
