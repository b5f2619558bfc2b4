import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { formatDuration, parseDuration } from '../../../common/duration.js';
import { prefixedId } from '../../../common/ids.js';
import type { AllConfig } from '../../../config/env.js';
import { DeliveriesRepository } from '../deliveries.repository.js';
import { EndpointsRepository } from '../endpoints.repository.js';
import { endpointOrigin, type AttemptContext } from '../outbound-hooks.js';
import { OutboundMetrics } from '../outbound-metrics.js';
import type { OutboundOwner, WebhookEndpoint } from '../outbound.entities.js';
import { WebhookOutbox, type Published } from '../webhook-outbox.js';

/** A failed attempt as endpoint health weighs it. */
export interface EndpointFailure {
  ctx: AttemptContext;
  startedAt: Date;
  answer: { statusCode: number | null };
}

/** An endpoint's failure streak: when it began, and the endpoint's status. */
export interface Streak {
  failingSince: Date;
  status: string;
}

/** An endpoint a failure batch disables, why, and what the failures' log lines say. */
interface Disabling {
  reason: string;
  why: string;
  endpoint: WebhookEndpoint;
  owner: OutboundOwner;
}

const GONE_WHY = 'the endpoint answered 410 Gone and is disabled';
const STREAK_WHY = 'the endpoint kept failing and is disabled';

/**
 * Endpoint health: failure streaks, and disabling an endpoint — one that answered 410
 * Gone, or failed for WEBHOOK_DISABLE_AFTER without a success — with its pending
 * deliveries failed and `endpoint.disabled` published.
 */
@Injectable()
export class EndpointHealth {
  private readonly logger = new Logger('Outbound');
  private readonly disableAfterMs: number;

  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly outbox: WebhookOutbox,
    private readonly metrics: OutboundMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.disableAfterMs = parseDuration(config.get('WEBHOOK_DISABLE_AFTER', { infer: true }));
  }

  /**
   * The failure streaks of the batch's endpoints: when each began and the endpoint's
   * status. Only a streak's first failure writes the row (`failing_since`; rows locked in
   * id order): every failure writing it queued the failing deliveries' transactions behind
   * each other on that row lock (docs/decisions/0005-failure-streak-single-write.md).
   * Read from the statement's snapshot, a streak another transaction began meanwhile shows as null:
   * it began with this batch as far as the batch knows.
   */
  async recordStreaks(manager: EntityManager, batch: EndpointFailure[]): Promise<Map<string, Streak>> {
    const first = new Map<string, Date>();
    for (const r of batch) {
      const seen = first.get(r.ctx.endpoint.id);
      if (!seen || r.startedAt < seen) first.set(r.ctx.endpoint.id, r.startedAt);
    }
    const ids = [...first.keys()];
    const rows = await this.endpoints.beginStreaks(
      manager,
      ids,
      ids.map((id) => first.get(id)!.toISOString()),
    );
    return new Map(
      rows.map((r) => [r.id, { failingSince: new Date(r.failing_since ?? first.get(r.id)!), status: r.status }]),
    );
  }

  private streakDue(r: EndpointFailure, failingSince: Date): boolean {
    return r.startedAt.getTime() - failingSince.getTime() >= this.disableAfterMs;
  }

  /**
   * Why a failure is final although the batch does not disable its endpoint: a 410 or a
   * streak long enough from an endpoint disabled already (as when one failure was one
   * transaction). Undefined when it is not.
   */
  endsWithoutDisabling(r: EndpointFailure, streak?: Streak): string | undefined {
    if (r.answer.statusCode === 410) return GONE_WHY;
    if (streak && streak.status !== 'enabled' && this.streakDue(r, streak.failingSince)) {
      return STREAK_WHY;
    }
    return undefined;
  }

  /**
   * The enabled endpoints of the batch to disable, in id order: one that answered 410,
   * or one whose streak has lasted WEBHOOK_DISABLE_AFTER by its latest failure here —
   * read again under the row lock, so that a success committed meanwhile (which ends
   * the streak) counts.
   */
  async endpointsToDisable(
    manager: EntityManager,
    batch: EndpointFailure[],
    streaks: Map<string, Streak>,
  ): Promise<Map<string, Disabling>> {
    const disabling = new Map<string, Disabling>();
    const latest = new Map<string, EndpointFailure>();
    for (const r of batch) {
      const id = r.ctx.endpoint.id;
      if (streaks.get(id)?.status !== 'enabled') continue;
      if (!latest.has(id) || r.startedAt >= latest.get(id)!.startedAt) latest.set(id, r);
      if (r.answer.statusCode === 410 && !disabling.has(id)) {
        disabling.set(id, {
          reason: `answered 410 Gone at ${r.startedAt.toISOString()}`,
          why: GONE_WHY,
          endpoint: r.ctx.endpoint,
          owner: r.ctx.owner,
        });
      }
    }
    for (const id of [...latest.keys()].sort()) {
      const r = latest.get(id)!;
      if (disabling.has(id) || !this.streakDue(r, streaks.get(id)!.failingSince)) continue;
      const locked = await this.endpoints.lockStreak(manager, id, r.startedAt);
      if (locked?.status !== 'enabled' || !this.streakDue(r, new Date(locked.failing_since!))) continue;
      disabling.set(id, {
        reason: `no successful delivery since ${new Date(locked.failing_since!).toISOString()} (failing longer than ${formatDuration(this.disableAfterMs)})`,
        why: STREAK_WHY,
        endpoint: r.ctx.endpoint,
        owner: r.ctx.owner,
      });
    }
    return new Map([...disabling].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** Disables an endpoint (inside `manager`), fails its pending deliveries, publishes `endpoint.disabled`. */
  async disable(
    manager: EntityManager,
    owner: OutboundOwner,
    endpoint: WebhookEndpoint,
    reason: string,
  ): Promise<Published | null> {
    if (!(await this.endpoints.disable(manager, endpoint.id, reason))) return null;
    await this.deliveries.failPendingOfEndpoint(manager, endpoint.id, `endpoint disabled: ${reason}`);
    this.metrics.endpointsDisabled.inc({ owner });
    this.logger.error({
      msg: `Disabled ${owner} webhook endpoint ${endpoint.id} (${endpointOrigin(endpoint.url)}): ${reason}`,
      endpointId: endpoint.id,
    });
    const eventId = prefixedId('evt');
    return this.outbox.publish(manager, {
      owner,
      eventId,
      eventType: 'endpoint.disabled',
      payload: {
        event_id: eventId,
        type: 'endpoint.disabled',
        created_at: new Date().toISOString(),
        data: { endpoint_id: endpoint.id, url: endpoint.url, reason },
      },
    });
  }
}
