/**
 * The PSP mock's runtime settings (psp_settings: a JSON value per key), shared by all its
 * replicas: the persistence port of ChaosService (TypeormPspSettingsRepository implements it).
 */
export abstract class PspSettingsRepository {
  /** The key's stored value, null when none is stored. */
  abstract valueOf(key: string): Promise<Record<string, unknown> | null>;

  /**
   * Merges `fields` into the key's stored value (stores them if there is none) in one
   * statement, and answers the value stored.
   */
  abstract merge(key: string, fields: Record<string, unknown>): Promise<Record<string, unknown>>;

  /** Drops the key's stored value. */
  abstract remove(key: string): Promise<void>;
}
