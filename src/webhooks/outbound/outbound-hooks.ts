import { Injectable } from '@nestjs/common';
import type { WebhookSigner } from '../../common/crypto/webhook-signature.js';
import type { OutboundOwner, WebhookDelivery, WebhookEndpoint, WebhookMessage } from './outbound.entities.js';

export interface AttemptContext {
  owner: OutboundOwner;
  delivery: WebhookDelivery;
  message: WebhookMessage;
  endpoint: WebhookEndpoint;
  /** 1 for the first attempt. */
  attempt: number;
}

export interface AttemptOutcome {
  succeeded: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The delivery is final now (succeeded, or failed for good). */
  final: boolean;
  /** What `beforeAttempt` asked for. */
  tampered: boolean;
}

/**
 * What a publisher adds to the engine for its own messages. The PSP mock signs its
 * callback deliveries with its account secret and scheme, and misbehaves on purpose
 * (chaos): tampered signatures, duplicated deliveries; it also mirrors each callback
 * delivery's state on its event for its events API.
 */
export interface PublisherHooks {
  /** Signs deliveries to callback endpoints (they have no secret of their own). */
  callbackSigner?: WebhookSigner;
  /** Before an attempt: `tamper` changes one body byte after signing. */
  beforeAttempt?(ctx: AttemptContext): Promise<{ tamper?: boolean }>;
  /** After an attempt is recorded: `duplicate` POSTs the same message once more. */
  afterAttempt?(ctx: AttemptContext, outcome: AttemptOutcome): Promise<{ duplicate?: boolean } | void>;
}

/** Publishers register their hooks here at startup (onModuleInit). */
@Injectable()
export class OutboundHooks {
  private readonly byOwner = new Map<OutboundOwner, PublisherHooks>();

  register(owner: OutboundOwner, hooks: PublisherHooks): void {
    this.byOwner.set(owner, hooks);
  }

  for(owner: OutboundOwner): PublisherHooks {
    return this.byOwner.get(owner) ?? {};
  }
}
