import type { EntityManager } from 'typeorm';
import type { OutboundOwner, WebhookEndpoint } from './outbound.entities.js';
import type { SealedColumns } from './signing-secrets.js';

/** An endpoint's failure streak as stored: when it began (null: none) and the endpoint's status. */
export interface StreakRow {
  failing_since: Date | null;
  status: string;
}

/** One endpoint sealed under a key id, and how many are. */
export interface SealedSample {
  sealing_key_id: string;
  n: number;
  id: string;
  secret_sealed: string | null;
  previous_secret_sealed: string | null;
}

/** An endpoint's sealed columns, by id (what the reseal reads and writes). */
export type SealedEndpoint = Pick<WebhookEndpoint, 'id'> & SealedColumns;

/**
 * The port to webhook endpoints (webhook_endpoints). A method taking an EntityManager runs
 * inside the caller's transaction.
 */
export abstract class EndpointsRepository {
  /** Per sealing key id in the table: how many endpoints it seals, and the first of them (by id). */
  abstract sealedSamples(): Promise<SealedSample[]>;

  /**
   * Up to `limit` endpoints sealed under a key other than `keyId`, with ids after `afterId`,
   * in id order, their rows locked until `manager`'s transaction ends; rows another
   * transaction holds are skipped (SKIP LOCKED), not waited for.
   */
  abstract lockSealedUnderOtherKeys(
    manager: EntityManager,
    keyId: string,
    afterId: string,
    limit: number,
  ): Promise<SealedEndpoint[]>;

  /** Stores the endpoints' sealed columns, in one statement. */
  abstract storeSealed(manager: EntityManager, endpoints: SealedEndpoint[]): Promise<void>;

  /** How many sealed endpoints are under `keyId` (current) and under another key (left). */
  abstract countSealedUnder(keyId: string): Promise<{ current: number; left: number }>;

  /**
   * Begins the streaks of the endpoints that have none (`since[i]` for `ids[i]`; rows locked
   * in id order) and answers every endpoint's streak and status.
   */
  abstract beginStreaks(
    manager: EntityManager,
    ids: string[],
    since: string[],
  ): Promise<(StreakRow & { id: string })[]>;

  /** The endpoint's streak read again under its row lock (begun at `since` if it had none). */
  abstract lockStreak(manager: EntityManager, id: string, since: Date): Promise<StreakRow | undefined>;

  /** Disables an enabled endpoint; false when it was not enabled. */
  abstract disable(manager: EntityManager, id: string, reason: string): Promise<boolean>;

  /** Runs `work` in one transaction. */
  abstract transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;

  /** Saves a new endpoint. */
  abstract create(endpoint: Partial<WebhookEndpoint>): Promise<WebhookEndpoint>;

  /** One page of `owner`'s endpoints, oldest first, after the keyset `cursor` ([created_at, id]). */
  abstract page(owner: OutboundOwner, limit: number, cursor: [string, string] | null): Promise<WebhookEndpoint[]>;

  abstract findOne(owner: OutboundOwner, id: string): Promise<WebhookEndpoint | null>;

  /** The endpoint, its row locked until `manager`'s transaction ends. */
  abstract findLocked(manager: EntityManager, owner: OutboundOwner, id: string): Promise<WebhookEndpoint | null>;

  /** Changes the endpoint, inside `manager`. */
  abstract update(manager: EntityManager, id: string, patch: Partial<WebhookEndpoint>): Promise<void>;

  /**
   * Deletes the endpoint with its deliveries (and their attempts), in one transaction:
   * the deliveries first, then the endpoint.
   */
  abstract deleteWithDeliveries(id: string): Promise<void>;

  /** Makes `owner`'s callback endpoint for `url` (a no-op when another made it first). */
  abstract insertCallback(manager: EntityManager, owner: OutboundOwner, url: string): Promise<void>;
}
