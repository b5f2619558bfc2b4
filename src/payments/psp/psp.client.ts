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
  /** `idempotencyKey` makes a retried call return the same PSP payment instead of a second one. */
  abstract createPayment(request: CreatePspPayment, idempotencyKey: string): Promise<PspPaymentView>;
  /** With `waitS`, a long poll: the PSP answers when the payment is final or after `waitS` seconds. */
  abstract getPayment(pspPaymentId: string, waitS?: number): Promise<PspPaymentView>;
  /** One page of the PSP's events, oldest first, after the event `after`. */
  abstract listEvents(after: string | null, limit: number): Promise<PspEventPage>;
}
