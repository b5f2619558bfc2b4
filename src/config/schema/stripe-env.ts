import { IsIn, IsOptional, Matches } from 'class-validator';
import { Doc } from './env-decorators.js';
import { OperationsEnv } from './operations-env.js';

export const PSP_PROVIDERS = ['mock', 'stripe'] as const;
export type PspProvider = (typeof PSP_PROVIDERS)[number];

/** Stripe's signing secrets: whsec_ and letters/digits (not necessarily base64), several space-separated. */
export const STRIPE_WHSEC_LIST = /^whsec_[A-Za-z0-9+/=]{16,}( +whsec_[A-Za-z0-9+/=]{16,})*$/;

/**
 * Stripe (issue 27, docs/using-stripe.md): which PSP the shop pays through, the keys of
 * the Stripe account, and where the PSP mock's Stripe dialect sends its events.
 * Extends OperationsEnv, so that the variables keep their order in docs/configuration.md.
 */
export class StripeEnv extends OperationsEnv {
  @Doc(
    'The PSP the shop pays through: mock (the PSP mock at PSP_BASE_URL/psp/v1) | stripe (Stripe through its official SDK; needs STRIPE_SECRET_KEY).',
  )
  @IsIn(PSP_PROVIDERS)
  PSP_PROVIDER: PspProvider = 'mock';

  @Doc(
    "Stripe secret (or restricted) API key, sk_… / rk_…; needed with PSP_PROVIDER=stripe. Against the PSP mock's Stripe dialect: PSP_API_KEY.",
  )
  @IsOptional()
  @Matches(/^[\x21-\x7e]{16,}$/, {
    message: 'STRIPE_SECRET_KEY must be at least 16 printable characters without spaces',
  })
  STRIPE_SECRET_KEY?: string = undefined;

  @Doc(
    'Signing secret(s) of the Stripe webhook endpoint (whsec_…), several space-separated during a rotation; set: POST /webhooks/stripe takes events. Against the mock: PSP_WEBHOOK_SECRET.',
  )
  @IsOptional()
  @Matches(STRIPE_WHSEC_LIST, {
    message: 'STRIPE_WEBHOOK_SECRET must be one or more space-separated secrets of the form whsec_…',
  })
  STRIPE_WEBHOOK_SECRET?: string = undefined;

  @Doc(
    "Origin the Stripe SDK calls instead of https://api.stripe.com: only to point it at the PSP mock's Stripe dialect (e.g. http://127.0.0.1:3000); production refuses it with PSP_PROVIDER=stripe.",
  )
  @IsOptional()
  @Matches(/^https?:\/\/[^/\s]+$/, {
    message: 'STRIPE_API_BASE must be an origin such as http://127.0.0.1:3000 (no path)',
  })
  STRIPE_API_BASE?: string = undefined;

  @Doc(
    'PSP mock: where its Stripe dialect sends events (the endpoint registered in a Stripe dashboard). Default: PUBLIC_BASE_URL/webhooks/stripe.',
  )
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'PSP_STRIPE_WEBHOOK_URL must be an http(s) URL' })
  PSP_STRIPE_WEBHOOK_URL?: string = undefined;
}
