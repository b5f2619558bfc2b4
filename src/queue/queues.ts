import type { JobOptions } from 'bull';

/** Every Bull queue, named once. */
export enum QueueName {
  /** Inbound webhooks stored in the inbox, to be applied: a job per receiver batch. Job id = its first inbox row id. */
  WebhookInbox = 'webhook-inbox',
  /** PSP mock: payments waiting to settle. Job id = PSP payment id. */
  PspSettlement = 'psp-settlement',
  /** Outbound webhooks of the PSP mock (callback URLs, its endpoints). Job id = delivery id. */
  PspDelivery = 'psp-delivery',
  /** Outbound webhooks of the shop (order.* to merchants' endpoints). Job id = delivery id. */
  WebhookDelivery = 'webhook-delivery',
  /** Status polls of the shop's payments (fallback, short, long). Job id = payment id + poll number + claim time. */
  PaymentPoll = 'payment-poll',
}

export enum JobName {
  ApplyInboxEvent = 'apply-inbox-event',
  SettlePayment = 'settle-payment',
  DeliverWebhook = 'deliver-webhook',
  PollPayment = 'poll-payment',
}

/** Safe to run twice: callers always pass a deterministic jobId. */
export const defaultJobOptions: JobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: 1000,
  removeOnFail: false,
};
