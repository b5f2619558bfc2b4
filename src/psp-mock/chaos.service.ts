import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AllConfig } from '../config/env.js';
import { DomainError } from '../common/errors/domain-error.js';
import type { ChaosSettings, ChaosSettingsDto } from './dto/chaos.dto.js';
import { PspSetting } from './psp-setting.entity.js';

const KEY = 'chaos';
/** Replicas see a change within this long. */
const CACHE_MS = 1000;

/**
 * How badly the PSP mock behaves: settlement delays, declines, and what happens to
 * webhook deliveries (dropped, duplicated, delayed, reordered, tampered signatures).
 * Defaults come from the environment; PUT /psp/v1/chaos stores overrides in
 * PostgreSQL so that every PSP replica follows them.
 */
@Injectable()
export class ChaosService {
  private readonly defaults: ChaosSettings;
  private cached: { at: number; value: ChaosSettings } | null = null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    config: ConfigService<AllConfig, true>,
  ) {
    this.defaults = {
      settleDelayMs: {
        min: config.get('PSP_SETTLE_DELAY_MIN_MS', { infer: true }),
        max: config.get('PSP_SETTLE_DELAY_MAX_MS', { infer: true }),
      },
      declineRate: config.get('PSP_DECLINE_RATE', { infer: true }),
      dropRate: config.get('PSP_DROP_RATE', { infer: true }),
      duplicateRate: config.get('PSP_DUPLICATE_RATE', { infer: true }),
      deliveryDelayMs: {
        min: config.get('PSP_DELIVERY_DELAY_MIN_MS', { infer: true }),
        max: config.get('PSP_DELIVERY_DELAY_MAX_MS', { infer: true }),
      },
      reorderRate: config.get('PSP_REORDER_RATE', { infer: true }),
      tamperRate: config.get('PSP_TAMPER_RATE', { infer: true }),
    };
  }

  async get(): Promise<ChaosSettings> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const row = await this.db.getRepository(PspSetting).findOneBy({ key: KEY });
    const value = { ...this.defaults, ...((row?.value ?? {}) as Partial<ChaosSettings>) };
    this.cached = { at: Date.now(), value };
    return value;
  }

  /**
   * Stores the fields given as overrides, merged into the stored ones in one statement:
   * concurrent PUTs each keep their fields (save()'s read-then-insert raced into a unique
   * violation, a 500, when two came at once).
   */
  async update(patch: ChaosSettingsDto): Promise<ChaosSettings> {
    const overrides = stripUndefined(patch);
    for (const field of ['settleDelayMs', 'deliveryDelayMs'] as const) {
      const range = overrides[field];
      if (range && range.min > range.max) {
        throw new DomainError('PSP.CHAOS_INVALID', 400, 'Invalid chaos settings', `${field}.min must not exceed max.`);
      }
    }
    const [row] = await this.db.query<{ value: Partial<ChaosSettings> }[]>(
      `INSERT INTO psp_settings (key, value) VALUES ($1, $2::jsonb)
       ON CONFLICT (key) DO UPDATE SET value = psp_settings.value || EXCLUDED.value, updated_at = now()
       RETURNING value`,
      [KEY, JSON.stringify(overrides)],
    );
    const next: ChaosSettings = { ...this.defaults, ...row.value };
    this.cached = { at: Date.now(), value: next };
    return next;
  }

  /** Back to the environment's defaults. */
  async reset(): Promise<ChaosSettings> {
    await this.db.getRepository(PspSetting).delete({ key: KEY });
    this.cached = null;
    return this.get();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
