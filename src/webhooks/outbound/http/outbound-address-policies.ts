import type { WebhookEndpoint } from '../outbound.entities.js';
import { EndpointSchemePolicy } from './endpoint-scheme-policy.js';
import { AddressPolicy, ALLOW_LIST_VARIABLE, CALLBACK_ALLOW_LIST_VARIABLE } from './address-policy.js';

/**
 * The two address policies of outbound webhooks. Endpoints registered through an API
 * (the shop's merchants, the PSP mock's registered endpoints) get WEBHOOK_ALLOWED_CIDRS
 * only; the PSP mock's callback deliveries (a payment's callback_url, kind `callback`,
 * never made through an endpoints API) get PSP_CALLBACK_ALLOWED_CIDRS only. So the PSP
 * mock calling the shop on a private network never widens what merchants may reach.
 * See docs/decisions/0301-psp-callback-allow-list.md.
 */
export class OutboundAddressPolicies {
  constructor(
    readonly endpoints: AddressPolicy,
    readonly callbacks: AddressPolicy,
    /** Whether registered endpoints may be http:// (callbacks are the PSP mock's, never merchants'). */
    readonly endpointSchemes = new EndpointSchemePolicy(false, 'none'),
  ) {}

  static fromLists(
    endpointsAllowed: string,
    callbacksAllowed: string,
    endpointSchemes?: EndpointSchemePolicy,
  ): OutboundAddressPolicies {
    return new OutboundAddressPolicies(
      new AddressPolicy([endpointsAllowed], ALLOW_LIST_VARIABLE),
      new AddressPolicy([callbacksAllowed], CALLBACK_ALLOW_LIST_VARIABLE),
      endpointSchemes,
    );
  }

  /** Why this endpoint's URL may not be delivered to for its scheme, or null. */
  schemeRefusal(endpoint: Pick<WebhookEndpoint, 'owner' | 'kind' | 'url'>): string | null {
    return this.for(endpoint) === this.endpoints ? this.endpointSchemes.refusal(endpoint.url) : null;
  }

  /** The policy that judges where this endpoint's deliveries may connect. */
  for(endpoint: Pick<WebhookEndpoint, 'owner' | 'kind'>): AddressPolicy {
    return endpoint.owner === 'psp' && endpoint.kind === 'callback' ? this.callbacks : this.endpoints;
  }
}
