import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SecretSealer } from '../../common/crypto/secret-sealer.js';
import { isDatabaseUnavailable } from '../../common/errors/unavailable.js';
import type { AllConfig } from '../../config/env.js';
import { EndpointsRepository, type SealedSample } from './endpoints.repository.js';
import type { WebhookEndpoint } from './outbound.entities.js';

/** The sealed columns of an endpoint row. */
export type SealedColumns = Pick<WebhookEndpoint, 'sealedSecret' | 'sealedPreviousSecret' | 'sealingKeyId'>;

/** An endpoint's secrets in the clear: only in memory, never logged, stored or answered outside the secret routes. */
export interface OpenSecrets {
  secret: string | null;
  previousSecret: string | null;
}

/** Endpoints whose opened secrets are kept in memory (least recently used dropped first). */
export const OPENED_SECRETS_CACHE = 10_000;

/** The AAD context of an endpoint's sealed column: a sealed value moved to another row or column does not open. */
export const sealingContext = (endpointId: string, column: 'secret' | 'previous_secret') => `${endpointId}/${column}`;

/** An endpoint's secrets sealed under the sealer's first key (both columns, one key id). */
export function sealColumns(sealer: SecretSealer, endpointId: string, secrets: OpenSecrets): SealedColumns {
  const seal = (value: string | null, column: 'secret' | 'previous_secret') =>
    value === null ? null : sealer.seal(value, sealingContext(endpointId, column)).sealed;
  return {
    sealedSecret: seal(secrets.secret, 'secret'),
    sealedPreviousSecret: seal(secrets.previousSecret, 'previous_secret'),
    sealingKeyId: secrets.secret === null && secrets.previousSecret === null ? null : sealer.currentKeyId,
  };
}

/** An endpoint's secrets opened with the key its row names; throws SealingError (never with a value). */
export function openColumns(sealer: SecretSealer, endpoint: Pick<WebhookEndpoint, 'id'> & SealedColumns): OpenSecrets {
  const open = (sealed: string | null, column: 'secret' | 'previous_secret') =>
    sealed === null ? null : sealer.open(sealed, endpoint.sealingKeyId ?? '', sealingContext(endpoint.id, column));
  return {
    secret: open(endpoint.sealedSecret, 'secret'),
    previousSecret: open(endpoint.sealedPreviousSecret, 'previous_secret'),
  };
}

interface CacheEntry extends OpenSecrets {
  sealedSecret: string | null;
  sealedPreviousSecret: string | null;
  sealingKeyId: string | null;
}

/**
 * Endpoint signing secrets sealed at rest with SEALING_KEYS (docs/security/sealed-secrets.md).
 * Seals with the first key; opens with the key the row names. Opened secrets are kept in
 * memory per endpoint (bounded), checked against the row's sealed values, so a delivery
 * decrypts nothing unless its endpoint's secret changed (rotation, reseal).
 *
 * At boot (before any delivery worker starts) it opens one row per key id in the table: a key id missing from SEALING_KEYS,
 * or a key under that id that is not the one the rows were sealed with, stops the boot
 * with the key id and the count of rows (never a value). A row that still does not open
 * later (changed in the database) fails its own deliveries with SEALED_SECRET.* in the
 * attempt's error, and its reveal with WEBHOOK_ENDPOINT.SECRET_UNREADABLE.
 */
@Injectable()
export class SigningSecrets implements OnModuleInit {
  private readonly logger = new Logger('SealedSecrets');
  private readonly sealer: SecretSealer;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly endpoints: EndpointsRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.sealer = SecretSealer.fromEnv(config.get('SEALING_KEYS', { infer: true }) ?? '');
  }

  get currentKeyId(): string {
    return this.sealer.currentKeyId;
  }

  /** The sealed columns for an endpoint's secrets, under the first key. */
  seal(endpointId: string, secrets: OpenSecrets): SealedColumns {
    return sealColumns(this.sealer, endpointId, secrets);
  }

  /** The endpoint's secrets in the clear (from memory when its sealed values have not changed); throws SealingError. */
  open(endpoint: Pick<WebhookEndpoint, 'id'> & SealedColumns): OpenSecrets {
    const hit = this.cache.get(endpoint.id);
    if (
      hit &&
      hit.sealedSecret === endpoint.sealedSecret &&
      hit.sealedPreviousSecret === endpoint.sealedPreviousSecret &&
      hit.sealingKeyId === endpoint.sealingKeyId
    ) {
      this.cache.delete(endpoint.id);
      this.cache.set(endpoint.id, hit);
      return hit;
    }
    const entry: CacheEntry = {
      sealedSecret: endpoint.sealedSecret,
      sealedPreviousSecret: endpoint.sealedPreviousSecret,
      sealingKeyId: endpoint.sealingKeyId,
      ...openColumns(this.sealer, endpoint),
    };
    this.cache.delete(endpoint.id);
    if (this.cache.size >= OPENED_SECRETS_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(endpoint.id, entry);
    return entry;
  }

  /** Opens without the cache (the reveal route, rotation). */
  openUncached(endpoint: Pick<WebhookEndpoint, 'id'> & SealedColumns): OpenSecrets {
    return openColumns(this.sealer, endpoint);
  }

  /** Refuses to boot when SEALING_KEYS cannot open the rows of a key id in the table (see the class comment). */
  async onModuleInit(): Promise<void> {
    let rows: SealedSample[];
    try {
      rows = await this.endpoints.sealedSamples();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.logger.warn(`Could not check the sealed endpoint secrets at boot (${(err as Error).message})`);
      return;
    }
    const problems: string[] = [];
    for (const r of rows) {
      if (!this.sealer.has(r.sealing_key_id)) {
        problems.push(
          `key id "${r.sealing_key_id}" seals ${r.n} endpoint secret(s) but is not in SEALING_KEYS: put it back (after the new key) until npm run secrets:reseal has moved them`,
        );
        continue;
      }
      try {
        this.openUncached({
          id: r.id,
          sealedSecret: r.secret_sealed,
          sealedPreviousSecret: r.previous_secret_sealed,
          sealingKeyId: r.sealing_key_id,
        });
      } catch {
        problems.push(
          `the SEALING_KEYS key "${r.sealing_key_id}" does not open endpoint ${r.id}'s secret (${r.n} endpoint(s) sealed under that id): it is not the key they were sealed with`,
        );
      }
    }
    if (problems.length > 0) {
      throw new Error(`SEALING_KEYS cannot open the stored endpoint secrets:\n  - ${problems.join('\n  - ')}`);
    }
    const counts = rows.map((r) => `${r.n} under "${r.sealing_key_id}"`).join(', ');
    this.logger.log(
      `Endpoint secrets sealed with SEALING_KEYS (sealing with "${this.sealer.currentKeyId}"): ${counts || 'none stored yet'}`,
    );
  }
}
