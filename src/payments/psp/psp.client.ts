/** What the shop asks a PSP to do. Field names follow the PSP's wire format. */
export interface CreatePspPayment {
  amount: number;
  currency: string;
  callback_url: string;
  payment_method: string;
  metadata: Record<string, string>;
}

export type PspPaymentStatus = 'processing' | 'completed' | 'failed';

export interface PspPaymentView {
  id: string;
  status: PspPaymentStatus;
  amount: number;
  currency: string;
}

/**
 * The port to the payment service provider. The default adapter speaks HTTP to the
 * PSP's public API; unit tests pass a fake; a real provider gets its own adapter.
 * Adapters throw `DomainError`s with codes PSP.UNAVAILABLE, PSP.TIMEOUT or PSP.REJECTED.
 */
export abstract class PspClient {
  /** `idempotencyKey` makes a retried call return the same PSP payment instead of a second one. */
  abstract createPayment(request: CreatePspPayment, idempotencyKey: string): Promise<PspPaymentView>;
  abstract getPayment(pspPaymentId: string): Promise<PspPaymentView>;
}
