import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AllConfig, SignatureScheme, splitList } from '../../config/env.js';
import { secretKey } from '../../common/crypto/standard-webhooks.js';

export interface WebhookSourceProfile {
  source: string;
  scheme: SignatureScheme;
  /** Decoded keys of every active secret; any one matching is enough (rotation). */
  keys: Buffer[];
  toleranceS: number;
}

/** Where each inbound source's verification settings come from. One source today: the PSP. */
@Injectable()
export class WebhookSources {
  private readonly profiles: Map<string, WebhookSourceProfile>;

  constructor(config: ConfigService<AllConfig, true>) {
    const toleranceS = config.get('WEBHOOK_TOLERANCE_S', { infer: true });
    this.profiles = new Map([
      [
        'psp',
        {
          source: 'psp',
          scheme: config.get('PSP_SIGNATURE_SCHEME', { infer: true }),
          keys: splitList(config.get('PSP_WEBHOOK_SECRET', { infer: true }), ' ').map(secretKey),
          toleranceS,
        },
      ],
    ]);
  }

  get(source: string): WebhookSourceProfile | undefined {
    return this.profiles.get(source);
  }

  get sources(): string[] {
    return [...this.profiles.keys()];
  }
}
