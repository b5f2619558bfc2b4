import type { EntityManager } from 'typeorm';

/** An endpoint's failure streak as stored: when it began (null: none) and the endpoint's status. */
export interface StreakRow {
  failing_since: Date | null;
  status: string;
}

/**
 * The port to webhook endpoints (webhook_endpoints). A method taking an EntityManager runs
 * inside the caller's transaction.
 */
export abstract class EndpointsRepository {
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
}
