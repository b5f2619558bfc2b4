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
  /** `beforeAttempt` transformed the body. */
  transformed: boolean;
}

/** A change to a delivery's body after it is signed, and the note its attempt's error and log line carry. */
export interface BodyTransformation {
  apply(signed: string): string;
  /** e.g. "signature tampered by chaos". */
  note: string;
}

/**
 * A publisher's copy of its deliveries' state, written by the statement that records each
 * attempt (a batch of successes' statement, a batch of failures' transaction): the copy
 * cannot miss an attempt the engine recorded, nor cost a round trip of its own.
 */
export interface AttemptMirror {
  /** Whether this attempt's delivery is mirrored (the PSP mock: its callback deliveries). */
  mirrors(ctx: AttemptContext): boolean;
  /**
   * One data-modifying statement (no RETURNING) over the relation `mirrored`, one row per
   * recorded attempt this publisher mirrors: `event_id text` (the message's event id),
   * `succeeded boolean`, `final boolean` (the delivery is over), `error text`.
   */
  sql: string;
}

/**
 * What a publisher adds to the engine for its own messages. The PSP mock signs its
 * callback deliveries with its account secret and scheme, and misbehaves on purpose
 * (chaos, src/psp-mock/): tampered signatures, duplicated deliveries; it also mirrors
 * each callback delivery's state on its event for its events API (`mirror`).
 */
export interface PublisherHooks {
  /** Signs deliveries to callback endpoints (they have no secret of their own). */
  callbackSigner?: WebhookSigner;
  /** Before an attempt: `transformBody` is applied to the body after it is signed. */
  beforeAttempt?(ctx: AttemptContext): Promise<{ transformBody?: BodyTransformation } | void>;
  /** After an attempt is recorded: `resend` POSTs the same message once more after a success (`why` is logged). */
  afterAttempt?(ctx: AttemptContext, outcome: AttemptOutcome): Promise<{ resend?: { why: string } } | void>;
  /** Copies each recorded attempt's outcome into the publisher's own table, in the record's statement. */
  mirror?: AttemptMirror;
}

/** A publisher's mirror SQL, as the statements that record attempts include it. */
export interface MirrorSql {
  owner: OutboundOwner;
  sql: string;
}

/** Publishers register their hooks here at startup (onModuleInit). */
@Injectable()
export class OutboundHooks {
  private readonly byOwner = new Map<OutboundOwner, PublisherHooks>();
  private mirrorList: MirrorSql[] | null = null;

  register(owner: OutboundOwner, hooks: PublisherHooks): void {
    this.byOwner.set(owner, hooks);
    this.mirrorList = null;
  }

  for(owner: OutboundOwner): PublisherHooks {
    return this.byOwner.get(owner) ?? {};
  }

  /** The owner whose mirror copies this attempt, or null. */
  mirrorOf(ctx: AttemptContext): OutboundOwner | null {
    return this.byOwner.get(ctx.owner)?.mirror?.mirrors(ctx) ? ctx.owner : null;
  }

  /** The registered mirrors, in a stable order (each record statement's text depends on it). */
  mirrors(): readonly MirrorSql[] {
    this.mirrorList ??= [...this.byOwner]
      .filter(([, h]) => h.mirror)
      .map(([owner, h]) => ({ owner, sql: h.mirror!.sql }))
      .sort((a, b) => a.owner.localeCompare(b.owner));
    return this.mirrorList;
  }
}

/** The origin of an endpoint's URL, as log lines and metric labels show it. */
export function endpointOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}
