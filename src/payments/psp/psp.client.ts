/** What the shop asks a PSP to do. Field names follow the PSP's wire format. */
export interface CreatePspPayment {
  amount: number;
  currency: string;
  /** Omitted for the polling strategies: then the PSP sends no webhook and the shop must ask. */
  callback_url?: string;
  payment_method: string;
  metadata: Record<string, string>;
  /** thin: the PSP's events carry ids only, and the shop fetches the state. */
  event_format?: 'thin';
}

export type PspPaymentStatus = 'processing' | 'completed' | 'failed';

export interface PspPaymentView {
  id: string;
  status: PspPaymentStatus;
  amount: number;
  currency: string;
  settled_at?: string | null;
  metadata?: Record<string, string>;
  /** What the customer must do before the payment can go on (Stripe: 3-D Secure), passed on to the client. */
  next_action?: { type: string } | null;
  /** The provider's own status, where it says more than `status` (Stripe: requires_action…). */
  provider_status?: string;
}

/** An event as the PSP's events API lists it (the same body its webhooks carry). */
export interface PspEventView {
  event_id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

export interface PspEventPage {
  data: PspEventView[];
  has_more: boolean;
}

/**
 * The port to the payment service provider. The default adapter speaks HTTP to the
 * PSP's public API; unit tests pass a fake; a real provider gets its own adapter.
 * Adapters throw `DomainError`s with codes PSP.UNAVAILABLE, PSP.TIMEOUT, PSP.REJECTED or
 * PSP.IN_PROGRESS (a call with the same idempotency key is still running at the PSP).
 */
export abstract class PspClient {
  /** The inbound webhook source whose events this PSP sends, and reconciliation stores them under. */
  readonly eventSource: string = 'psp';

  /**
   * Why this PSP cannot take a payment made this way, or null. The PSP mock's own API
   * has no 3-D Secure (pm_card_3ds is for PSP_PROVIDER=stripe); an adapter overrides it.
   */
  unsupported(strategy: string, paymentMethod: string): string | null {
    void strategy;
    return paymentMethod === 'pm_card_3ds'
      ? "pm_card_3ds (3-D Secure) needs PSP_PROVIDER=stripe: the PSP mock's own API has no 3-D Secure."
      : null;
  }

  /** `idempotencyKey` makes a retried call return the same PSP payment instead of a second one. */
  abstract createPayment(request: CreatePspPayment, idempotencyKey: string): Promise<PspPaymentView>;
  /** With `waitS`, a long poll: the PSP answers when the payment is final or after `waitS` seconds. */
  abstract getPayment(pspPaymentId: string, waitS?: number): Promise<PspPaymentView>;
  /** One page of the PSP's events, oldest first, after the event `after`. */
  abstract listEvents(after: string | null, limit: number): Promise<PspEventPage>;
}
