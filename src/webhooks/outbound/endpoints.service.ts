import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Queue } from 'bull';
import { SealingError } from '../../common/crypto/secret-sealer.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import {
  callbackFixed,
  callbackKeepsUrl,
  deliveryNotFound,
  endpointDisabled,
  endpointNotFound,
  secretUnreadable,
  unknownEventTypes,
} from './endpoint-errors.js';
import { isKnownSubscription, knownSubscriptions } from './event-catalog.js';
import { EndpointsRepository } from './endpoints.repository.js';
import { isUuid, prefixedId } from '../../common/ids.js';
import { decodeCursor, encodeCursor } from '../../common/pagination/keyset-cursor.js';
import type { AllConfig } from '../../config/env.js';
import type { CreateEndpointDto, DeliveriesQuery, UpdateEndpointDto } from './dto/endpoint.dto.js';
import type { PageQuery } from '../../common/pagination/page.query.js';
import { OutboundAddressPolicies } from './http/outbound-address-policies.js';
import { checkEndpointUrl } from './http/guarded-agent.js';
import type {
  OutboundOwner,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookMessage,
} from './outbound.entities.js';
import { parseDuration } from '../../common/duration.js';
import { SigningSecrets } from './signing-secrets.js';
import { EndpointHealth } from './delivery/endpoint-health.js';
import { WebhookOutbox } from './webhook-outbox.js';

/** PostgreSQL's SQLSTATE for a transaction chosen as a deadlock's victim. */
const DEADLOCK_DETECTED = '40P01';

/**
 * The shop's subscriptions name types of the event catalog (or wildcards over them); the PSP
 * mock's endpoints subscribe to its own payment.* types, which this catalog does not hold.
 */
function checkEventTypes(owner: OutboundOwner, types: string[] | null | undefined): void {
  if (owner !== 'shop' || !types) return;
  const unknown = types.filter((t) => !isKnownSubscription(t));
  if (unknown.length > 0) throw unknownEventTypes(unknown, knownSubscriptions());
}

export const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/**
 * The management side of outbound webhooks, for one owner at a time (the shop's
 * admin API, the PSP mock's API): endpoints, their secrets, deliveries and attempts,
 * and the replays — retry one delivery, recover an endpoint's failures since a time,
 * resend an event.
 */
@Injectable()
export class EndpointsService {
  private readonly logger = new Logger('WebhookEndpoints');
  private readonly graceMs: number;
  private readonly attemptTimeoutMs: number;

  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly deliveryRows: DeliveriesRepository,
    private readonly outbox: WebhookOutbox,
    private readonly health: EndpointHealth,
    private readonly policies: OutboundAddressPolicies,
    private readonly secrets: SigningSecrets,
    config: ConfigService<AllConfig, true>,
  ) {
    this.graceMs = parseDuration(config.get('WEBHOOK_ROTATION_GRACE', { infer: true }));
    this.attemptTimeoutMs = config.get('WEBHOOK_ATTEMPT_TIMEOUT_MS', { infer: true });
  }

  /** Registers an endpoint; answers it with its new secret, which is stored sealed only (shown once). */
  async create(owner: OutboundOwner, dto: CreateEndpointDto): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    checkEventTypes(owner, dto.eventTypes);
    await this.checkUrl(dto.url);
    // The id is the sealed value's AAD, so it is chosen before the row is written.
    const id = randomUUID();
    const secret = newSecret();
    const endpoint = await this.endpoints.create({
      id,
      owner,
      kind: 'registered',
      url: dto.url,
      description: dto.description ?? '',
      eventTypes: dto.eventTypes ?? null,
      rateLimitPerS: dto.rateLimitPerS ?? null,
      ...this.secrets.seal(id, { secret, previousSecret: null }),
      status: 'enabled',
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    this.logger.log({
      msg: `Registered ${owner} webhook endpoint ${endpoint.id} (${new URL(endpoint.url).origin})`,
      endpointId: endpoint.id,
    });
    return { endpoint, secret };
  }

  async list(owner: OutboundOwner, q: PageQuery): Promise<{ data: WebhookEndpoint[]; nextCursor: string | null }> {
    const limit = q.limit ?? 20;
    const cursor = q.cursor ? decodeCursor(q.cursor, 'WEBHOOK_ENDPOINT.INVALID_CURSOR') : null;
    const rows = await this.endpoints.page(owner, limit, cursor);
    const data = rows.slice(0, limit);
    return { data, nextCursor: rows.length > limit ? encodeCursor(data[data.length - 1]) : null };
  }

  async get(owner: OutboundOwner, id: string): Promise<WebhookEndpoint> {
    const endpoint = isUuid(id) ? await this.endpoints.findOne(owner, id) : null;
    if (!endpoint) throw endpointNotFound(id);
    return endpoint;
  }

  async update(owner: OutboundOwner, id: string, dto: UpdateEndpointDto): Promise<WebhookEndpoint> {
    const endpoint = await this.get(owner, id);
    if (dto.url !== undefined && endpoint.kind === 'callback') {
      throw callbackKeepsUrl();
    }
    checkEventTypes(owner, dto.eventTypes);
    if (dto.url !== undefined) await this.checkUrl(dto.url);
    await this.endpoints.transaction(async (manager) => {
      const patch: Partial<WebhookEndpoint> = { updatedAt: new Date() };
      if (dto.url !== undefined) patch.url = dto.url;
      if (dto.description !== undefined) patch.description = dto.description;
      if (dto.eventTypes !== undefined) patch.eventTypes = dto.eventTypes;
      if (dto.rateLimitPerS !== undefined) patch.rateLimitPerS = dto.rateLimitPerS;
      if (dto.status === 'enabled' && endpoint.status === 'disabled') {
        Object.assign(patch, { status: 'enabled', disabledReason: null, disabledAt: null, failingSince: null });
        this.logger.log({ msg: `Re-enabled ${owner} webhook endpoint ${id}`, endpointId: id });
      }
      await this.endpoints.update(manager, id, patch);
      if (dto.status === 'enabled' && endpoint.status === 'disabled') {
        const eventId = prefixedId('evt');
        await this.outbox.publish(manager, {
          owner,
          eventId,
          eventType: 'endpoint.enabled',
          payload: {
            event_id: eventId,
            type: 'endpoint.enabled',
            created_at: new Date().toISOString(),
            data: { endpoint_id: id, url: patch.url ?? endpoint.url },
          },
        });
      }
      if (dto.status === 'disabled' && endpoint.status === 'enabled') {
        await this.health.disable(manager, owner, endpoint, 'disabled through the API');
      }
    });
    return this.get(owner, id);
  }

  /**
   * Deletes the endpoint with its deliveries (and their attempts). The deliveries go
   * first, then the endpoint: recording an attempt locks its delivery, then the
   * endpoint, and deleting the endpoint first (its cascade locking the deliveries after
   * it) deadlocked with that. A deadlock with a rarer order (an endpoint being disabled
   * at that moment) is retried.
   */
  async remove(owner: OutboundOwner, id: string): Promise<void> {
    const endpoint = await this.get(owner, id);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.endpoints.deleteWithDeliveries(endpoint.id);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK_DETECTED || attempt === 3) throw err;
        this.logger.warn(`Deleting ${owner} webhook endpoint ${id} met a deadlock; trying again (${attempt + 1} of 3)`);
      }
    }
    this.logger.log({ msg: `Deleted ${owner} webhook endpoint ${id} with its deliveries`, endpointId: id });
  }

  /**
   * A new secret; the current one becomes the previous (signing too for
   * WEBHOOK_ROTATION_GRACE). Both are sealed again under the first key, the row locked
   * meanwhile (a concurrent rotation or reseal waits).
   */
  async rotateSecret(owner: OutboundOwner, id: string): Promise<{ secret: string; previousSecretExpiresAt: Date }> {
    await this.get(owner, id);
    const secret = newSecret();
    const previousSecretExpiresAt = new Date(Date.now() + this.graceMs);
    await this.endpoints.transaction(async (manager) => {
      const endpoint = await this.endpoints.findLocked(manager, owner, id);
      if (!endpoint) throw endpointNotFound(id);
      if (endpoint.kind === 'callback' || !endpoint.sealedSecret) throw callbackFixed();
      let current: string | null = null;
      try {
        current = this.secrets.openUncached(endpoint).secret;
      } catch (err) {
        if (!(err instanceof SealingError)) throw err;
        // The way out for a row that no longer opens: a new secret, with no previous one.
        this.logger.warn({
          msg: `The stored secret of ${owner} webhook endpoint ${id} does not open (${err.code}); rotating without a previous secret`,
          endpointId: id,
        });
      }
      await this.endpoints.update(manager, id, {
        ...this.secrets.seal(id, { secret, previousSecret: current }),
        previousSecretExpiresAt,
        updatedAt: new Date(),
      });
    });
    this.logger.log({
      msg: `Rotated the secret of ${owner} webhook endpoint ${id}; the previous one signs too until ${previousSecretExpiresAt.toISOString()}`,
      endpointId: id,
    });
    return { secret, previousSecretExpiresAt };
  }

  /**
   * The endpoint's secrets in the clear, for the admin reveal route: the current one, and
   * the previous one while it still signs. The caller is logged (never the secret).
   */
  async revealSecret(
    owner: OutboundOwner,
    id: string,
    caller: string,
  ): Promise<{ secret: string; previousSecret?: string; previousSecretExpiresAt?: Date }> {
    const endpoint = await this.get(owner, id);
    if (endpoint.kind === 'callback' || !endpoint.sealedSecret) throw callbackFixed();
    const open = this.openSecrets(endpoint);
    const stillSigns =
      open.previousSecret !== null &&
      endpoint.previousSecretExpiresAt !== null &&
      endpoint.previousSecretExpiresAt > new Date();
    this.logger.log({
      msg: `Revealed the signing secret of ${owner} webhook endpoint ${id} to ${caller}`,
      endpointId: id,
      caller,
      audit: 'secret.revealed',
    });
    return stillSigns
      ? {
          secret: open.secret!,
          previousSecret: open.previousSecret!,
          previousSecretExpiresAt: endpoint.previousSecretExpiresAt!,
        }
      : { secret: open.secret! };
  }

  private openSecrets(endpoint: WebhookEndpoint) {
    try {
      return this.secrets.openUncached(endpoint);
    } catch (err) {
      if (err instanceof SealingError) throw secretUnreadable(endpoint.id, err);
      throw err;
    }
  }

  /** Sends a `webhook.test` message to this endpoint only. */
  async sendTest(owner: OutboundOwner, id: string): Promise<{ eventId: string; deliveryId: string }> {
    const endpoint = await this.get(owner, id);
    if (endpoint.status !== 'enabled') throw endpointDisabled(endpoint);
    const eventId = prefixedId('evt');
    const published = await this.endpoints.transaction((manager) =>
      this.outbox.publish(manager, {
        owner,
        eventId,
        eventType: 'webhook.test',
        payload: {
          event_id: eventId,
          type: 'webhook.test',
          created_at: new Date().toISOString(),
          data: { endpoint_id: id, message: 'A test message from Hookline' },
        },
        endpointIds: [id],
      }),
    );
    return { eventId, deliveryId: published.pending[0].id };
  }

  async deliveries(
    owner: OutboundOwner,
    endpointId: string,
    q: DeliveriesQuery,
  ): Promise<{ data: (WebhookDelivery & { message?: WebhookMessage })[]; nextCursor: string | null }> {
    await this.get(owner, endpointId);
    const limit = q.limit ?? 20;
    const cursor = q.cursor ? decodeCursor(q.cursor, 'WEBHOOK_DELIVERY.INVALID_CURSOR') : null;
    const rows = await this.deliveryRows.pageOfEndpoint(endpointId, limit, q.status, cursor);
    const data = rows.slice(0, limit);
    return { data, nextCursor: rows.length > limit ? encodeCursor(data[data.length - 1]) : null };
  }

  async delivery(
    owner: OutboundOwner,
    id: string,
  ): Promise<{ delivery: WebhookDelivery & { message: WebhookMessage }; attempts: WebhookAttempt[] }> {
    const delivery = isUuid(id) ? await this.deliveryRows.findWithMessage(id) : null;
    if (!delivery || delivery.message?.owner !== owner) throw deliveryNotFound(id);
    const attempts = await this.deliveryRows.attemptsOf(id);
    return { delivery: delivery as WebhookDelivery & { message: WebhookMessage }, attempts };
  }

  /** Puts one delivery back on the schedule, at once (a new series of attempts). */
  async retry(owner: OutboundOwner, id: string): Promise<WebhookDelivery> {
    const { delivery } = await this.delivery(owner, id);
    const endpoint = await this.get(owner, delivery.endpointId);
    if (endpoint.status !== 'enabled') throw endpointDisabled(endpoint);
    await this.requeue(owner, [id]);
    return (await this.delivery(owner, id)).delivery;
  }

  /** Re-sends the endpoint's failed deliveries created since `since`. */
  async recover(owner: OutboundOwner, endpointId: string, since: Date): Promise<number> {
    const endpoint = await this.get(owner, endpointId);
    if (endpoint.status !== 'enabled') throw endpointDisabled(endpoint);
    const rows = await this.deliveryRows.failedSince(endpointId, since);
    await this.requeue(
      owner,
      rows.map((r) => r.id),
    );
    this.logger.log({
      msg: `Recovering ${rows.length} failed delivery(ies) of ${owner} endpoint ${endpointId} since ${since.toISOString()}`,
      endpointId,
    });
    return rows.length;
  }

  /** Re-sends an event to every endpoint that had it (PSP mock: POST /psp/v1/events/:id/resend). */
  async resendEvent(owner: OutboundOwner, eventId: string): Promise<number | null> {
    const message = await this.deliveryRows.findMessage(owner, eventId);
    if (!message) return null;
    const rows = await this.deliveryRows.toEnabledEndpoints(message.id);
    await this.requeue(
      owner,
      rows.map((r) => r.id),
    );
    return rows.length;
  }

  /**
   * Pending again, due now, attempts counted from zero (a new series on the retry
   * schedule; the history keeps every earlier attempt). A job still waiting for a
   * later retry is moved forward.
   */
  private async requeue(owner: OutboundOwner, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const queue = this.outbox.queue(owner);
    // An attempt still running records its outcome over the row when it ends, and its job
    // (same id) makes the enqueue below a no-op: reset the row only once it has ended, or
    // the new series is lost.
    await Promise.all(ids.map((id) => this.untilNotRunning(queue, id)));
    await this.deliveryRows.restart(ids);
    for (const id of ids) {
      const job = await queue.getJob(id).catch(() => null);
      if (job && (await job.isDelayed())) await job.promote();
    }
    await this.outbox.enqueue(
      owner,
      ids.map((id) => ({ id })),
    );
  }

  /** Waits while the delivery's job runs an attempt (at most one attempt's timeout and a margin). */
  private async untilNotRunning(queue: Queue, id: string): Promise<void> {
    const deadline = Date.now() + this.attemptTimeoutMs + 5_000;
    for (;;) {
      const job = await queue.getJob(id).catch(() => null);
      if (!job || !(await job.isActive().catch(() => false)) || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Only registered endpoints come through here: they are judged by WEBHOOK_ALLOWED_CIDRS, never the callbacks' list. */
  private async checkUrl(url: string): Promise<void> {
    const schemeRefusal = this.policies.endpointSchemes.refusal(url);
    if (schemeRefusal !== null) {
      throw new DomainError(
        'WEBHOOK_ENDPOINT.HTTPS_REQUIRED',
        422,
        'Endpoint URL must be https',
        `${url} cannot be a webhook endpoint: ${schemeRefusal}.`,
      );
    }
    const verdict = await checkEndpointUrl(url, this.policies.endpoints);
    if (!verdict.ok) {
      throw new DomainError(
        'WEBHOOK_ENDPOINT.URL_REFUSED',
        422,
        'Endpoint URL refused',
        `${url} cannot be a webhook endpoint: ${verdict.reason}.`,
      );
    }
  }
}
