import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/env.js';
import { DomainError } from '../common/errors/domain-error.js';
import type { ChaosSettings, ChaosSettingsDto } from './dto/chaos.dto.js';
import { PspSettingsRepository } from './psp-settings.repository.js';

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
  /** Counts this replica's writes: a read that a write overtook does not become the cache. */
  private writes = 0;

  constructor(
    private readonly settings: PspSettingsRepository,
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
    const writes = this.writes;
    const stored = await this.settings.valueOf(KEY);
    const value = { ...this.defaults, ...((stored ?? {}) as Partial<ChaosSettings>) };
    if (writes === this.writes) this.cached = { at: Date.now(), value };
    return value;
  }

  /**
   * Stores the fields given as overrides, merged into the stored ones in one statement:
   * concurrent PUTs each keep their fields (PspSettingsRepository.merge). Answers the
   * settings as that merge left them. The cache is dropped, not set to that answer: of
   * concurrent PUTs the last to return is not always the last merged, and its answer would
   * hide the later fields from this replica for up to CACHE_MS.
   */
  async update(patch: ChaosSettingsDto): Promise<ChaosSettings> {
    const overrides = stripUndefined(patch);
    for (const field of ['settleDelayMs', 'deliveryDelayMs'] as const) {
      const range = overrides[field];
      if (range && range.min > range.max) {
        throw new DomainError('PSP.CHAOS_INVALID', 400, 'Invalid chaos settings', `${field}.min must not exceed max.`);
      }
    }
    const stored = (await this.writing(() => this.settings.merge(KEY, overrides))) as Partial<ChaosSettings>;
    return { ...this.defaults, ...stored };
  }

  /** Back to the environment's defaults. */
  async reset(): Promise<ChaosSettings> {
    await this.writing(() => this.settings.remove(KEY));
    return this.get();
  }

  /** A write, with the cache dropped as it starts and ends: a read that ran meanwhile is not cached. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    this.writes++;
    this.cached = null;
    try {
      return await write();
    } finally {
      this.writes++;
      this.cached = null;
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
