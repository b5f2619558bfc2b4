import type { IdempotencyKey } from './idempotency-key.entity.js';

/** A request's claim of its Idempotency-Key, as `claim` inserts it (in flight, locked now). */
export interface NewIdempotencyKey {
  scope: string;
  key: string;
  requestHash: string;
  method: string;
  path: string;
}

/** The answer a completed request stores, to be replayed to its repeats. */
export interface IdempotencyAnswer {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

/**
 * The idempotency_keys table: the persistence port of IdempotencyService
 * (TypeormIdempotencyKeysRepository implements it). Every statement runs on its own,
 * outside a transaction; the unique (scope, key) decides between concurrent claims.
 */
export abstract class IdempotencyKeysRepository {
  /** Inserts the claim, in flight; answers its id, null when (scope, key) has a row already. */
  abstract claim(claim: NewIdempotencyKey): Promise<string | null>;

  /** The row of (scope, key), null when there is none. */
  abstract findByKey(scope: string, key: string): Promise<IdempotencyKey | null>;

  /**
   * Locks the in-flight claim again (now) if its lock is older than `lockTimeoutMs`;
   * answers whether it did. A completed claim, or one locked since, is left alone.
   */
  abstract takeOver(id: string, lockTimeoutMs: number): Promise<boolean>;

  /** Marks the claim completed with its answer (headers stored as given). */
  abstract complete(id: string, answer: Required<IdempotencyAnswer>): Promise<void>;

  /** Deletes the claim if it is still in flight. */
  abstract release(id: string): Promise<void>;

  /** Deletes the keys created more than `hours` ago; answers how many. */
  abstract deleteOlderThan(hours: number): Promise<number>;
}
