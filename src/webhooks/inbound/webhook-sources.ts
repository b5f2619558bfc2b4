import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AllConfig, splitList } from '../../config/env.js';
import { webhookSigner, type WebhookSigner } from '../../common/crypto/webhook-signature.js';

export interface WebhookSourceProfile {
  source: string;
  /** Verifies with every active secret of the source; any one matching is enough (rotation). */
  signer: WebhookSigner;
}

/** Where each inbound source's verification profile comes from: the PSP (mock), and Stripe when STRIPE_WEBHOOK_SECRET is set. */
@Injectable()
export class WebhookSources {
  private readonly profiles: Map<string, WebhookSourceProfile>;

  constructor(config: ConfigService<AllConfig, true>) {
    const toleranceS = config.get('WEBHOOK_TOLERANCE_S', { infer: true });
    const psp = webhookSigner(
      config.get('PSP_SIGNATURE_SCHEME', { infer: true }),
      splitList(config.get('PSP_WEBHOOK_SECRET', { infer: true }), ' '),
      toleranceS,
    );
    this.profiles = new Map([['psp', { source: 'psp', signer: psp }]]);
    // Stripe's own endpoint, beside the PSP's: its own secrets, always Stripe-Signature.
    const stripeSecrets = config.get('STRIPE_WEBHOOK_SECRET', { infer: true });
    if (stripeSecrets) {
      const signer = webhookSigner('stripe', splitList(stripeSecrets, ' '), toleranceS);
      this.profiles.set('stripe', { source: 'stripe', signer });
    }
  }

  get(source: string): WebhookSourceProfile | undefined {
    return this.profiles.get(source);
  }

  get sources(): string[] {
    return [...this.profiles.keys()];
  }
}
