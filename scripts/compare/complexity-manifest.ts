// What each way of learning a payment's result needs in Hookline: the code files (shop
// side, and the PSP side it relies on), the moving parts, and the failure modes it must
// handle — each with the test that covers it (file + the test's exact name).
// scripts/compare/complexity.ts counts lines from the source tree and checks every
// file and test named here exists; its spec fails when one disappears.

export type MovingPart =
  | 'queue'
  | 'scheduler'
  | 'inbox'
  | 'signature check'
  | 'state in the database'
  | 'background task'
  | 'public endpoint'
  | 'held connection';

export interface FailureMode {
  failure: string;
  test: { file: string; name: string };
}

export interface StrategyManifest {
  /** The column it fills in the comparison: a scenario name of scripts/compare/measure.ts. */
  scenario: string;
  /** Shop-side code this strategy needs beyond the shared core. */
  shopFiles: string[];
  /** PSP-side code it needs (the PSP mock stands for what a real PSP must run). */
  pspFiles: string[];
  movingParts: MovingPart[];
  failureModes: FailureMode[];
}

/** Every strategy needs these: start a payment at the PSP, apply a result, record the timeline. */
export const SHARED_CORE = [
  'src/payments/payments.service.ts',
  'src/payments/psp-results.service.ts',
  'src/payments/payments.repository.ts',
  'src/payments/persistence/payments.typeorm-repository.ts',
  'src/payments/payment.entity.ts',
  'src/payments/payment-timeline-entry.entity.ts',
  'src/payments/payment-status.ts',
  'src/payments/psp/psp.client.ts',
  'src/payments/psp/http-psp.client.ts',
];

const POLLING = [
  'src/payments/polling/payment-polling.service.ts',
  'src/payments/polling/poll-scheduler.task.ts',
  'src/payments/polling/payment-poll.processor.ts',
  'src/common/schedule/periodic-task.ts',
];

const POLL_FAILURES: FailureMode[] = [
  {
    failure: 'the PSP still says processing: poll again later',
    test: {
      file: 'src/payments/polling/payment-polling.service.spec.ts',
      name: 'records "nothing new" and schedules the next poll while the PSP says processing',
    },
  },
  {
    failure: 'several workers: each payment polled once per round',
    test: {
      file: 'test/e2e/polling.e2e-spec.ts',
      name: 'with two worker processes, polls each payment once per round',
    },
  },
  {
    failure: 'a worker restarts: the schedule survives',
    test: { file: 'test/e2e/polling.e2e-spec.ts', name: 'survives a restart: polling state lives in PostgreSQL' },
  },
  {
    failure: 'never final: stop and ask for attention',
    test: {
      file: 'test/e2e/polling.e2e-spec.ts',
      name: 'gives up after POLL_GIVE_UP_MS, marks the payment for attention and tells payment.attention_required',
    },
  },
  {
    failure: 'the PSP fails the poll',
    test: {
      file: 'src/payments/polling/payment-polling.service.spec.ts',
      name: 'gives up on a payment older than POLL_GIVE_UP_MS when the PSP fails',
    },
  },
  {
    failure: 'a stale poll job (polled since it was queued)',
    test: {
      file: 'src/payments/polling/payment-polling.service.spec.ts',
      name: 'skips a stale job (the payment was polled since)',
    },
  },
];

const RECEIVER = [
  'src/webhooks/inbound/webhook-receiver.controller.ts',
  'src/webhooks/inbound/webhook-signature.guard.ts',
  'src/webhooks/inbound/webhook-rejections.hook.ts',
  'src/webhooks/inbound/webhook-sources.ts',
  'src/webhooks/inbound/inbound-event.dto.ts',
  'src/common/crypto/webhook-signature.ts',
  'src/common/crypto/standard-webhooks.ts',
  'src/common/crypto/stripe-signature.ts',
  'src/common/crypto/safe-equal.ts',
  'src/webhooks/inbound/inbox-writer.ts',
  'src/webhooks/inbound/inbox-queue.ts',
  'src/webhooks/inbound/inbox.processor.ts',
  'src/webhooks/inbound/inbox-applier.ts',
  'src/webhooks/inbound/inbox.repository.ts',
  'src/webhooks/inbound/persistence/inbox.typeorm-repository.ts',
  'src/webhooks/inbound/inbox-entry.entity.ts',
  'src/webhooks/inbound/inbox-sweeper.task.ts',
  'src/webhooks/inbound/inbox-dead-letters.ts',
  'src/webhooks/inbound/inbox-retention.task.ts',
  'src/webhooks/inbound/webhook-handler.ts',
  'src/payments/psp-webhook.handler.ts',
  // The source material's fallback: no webhook within the deadline → ask the PSP; and reconciliation.
  ...POLLING,
  'src/payments/reconciliation.service.ts',
  'src/payments/reconciliation.task.ts',
  'src/payments/reconciliation-cursor.entity.ts',
];

/** The PSP's outbound engine: outbox, signing, retries with backoff. */
const SENDER = [
  'src/webhooks/outbound/webhook-outbox.ts',
  'src/webhooks/outbound/direct-sender.ts',
  'src/webhooks/outbound/retry-schedule.ts',
  'src/webhooks/outbound/delivery/delivery.processor.ts',
  'src/webhooks/outbound/delivery/delivery-attempt.ts',
  'src/webhooks/outbound/delivery/delivery-http-client.ts',
  'src/webhooks/outbound/delivery/delivery-recorder.ts',
  'src/webhooks/outbound/delivery/delivery-sweeper.task.ts',
  'src/webhooks/outbound/http/guarded-agent.ts',
  'src/webhooks/outbound/http/address-policy.ts',
  'src/psp-mock/psp-outbound.hooks.ts',
];

const WEBHOOK_FAILURES: FailureMode[] = [
  {
    failure: 'a forged or tampered body',
    test: {
      file: 'test/e2e/webhook-receiver.e2e-spec.ts',
      name: 'rejects a tampered body with 401 WEBHOOK.SIGNATURE_INVALID and stores nothing',
    },
  },
  {
    failure: 'a replayed delivery (timestamp outside the tolerance)',
    test: { file: 'src/webhooks/inbound/webhook-signature.guard.spec.ts', name: 'rejects stale and future timestamps' },
  },
  {
    failure: 'the same event delivered twice',
    test: {
      file: 'test/e2e/webhook-receiver.e2e-spec.ts',
      name: 'answers 200 to the same event delivered again, with one inbox row and one state change',
    },
  },
  {
    failure: 'the same event 50 times at once',
    test: {
      file: 'test/e2e/webhook-receiver.e2e-spec.ts',
      name: 'stores one row, enqueues one job and applies once when 50 deliveries of an event arrive at once',
    },
  },
  {
    failure: 'events out of order',
    test: {
      file: 'test/e2e/webhook-receiver.e2e-spec.ts',
      name: 'records payment.processing after payment.completed as ignored, never moving the payment back',
    },
  },
  {
    failure: 'a malformed body',
    test: {
      file: 'test/e2e/webhook-receiver.e2e-spec.ts',
      name: 'answers 400 to a correctly signed body that is not an event, storing nothing',
    },
  },
  {
    failure: 'a body over the limit',
    test: {
      file: 'test/e2e/webhook-receiver.e2e-spec.ts',
      name: 'answers 413 to a body over the limit, storing nothing',
    },
  },
  {
    failure: 'an event for an unknown payment',
    test: {
      file: 'test/e2e/webhook-receiver.e2e-spec.ts',
      name: 'ignores an event for a payment the shop does not know, and says why',
    },
  },
  {
    failure: 'deliveries dropped: the fallback poll resolves',
    test: {
      file: 'test/e2e/polling.e2e-spec.ts',
      name: 'resolves every payment when 100 % of webhook deliveries are dropped',
    },
  },
  {
    failure: 'the receiver down for a while: PSP retries and fallback',
    test: {
      file: 'test/fault/receiver-down.fault-spec.ts',
      name: 'loses no payment: PSP retries and fallback polling resolve each exactly once',
    },
  },
  {
    failure: 'a failing callback retried with backoff',
    test: {
      file: 'test/e2e/psp-faults.e2e-spec.ts',
      name: 'the PSP mock retries a failing callback with backoff, each attempt validly signed, until it gets a 2xx',
    },
  },
  {
    failure: 'Redis (the queue) lost in a burst',
    test: {
      file: 'test/e2e/outages.e2e-spec.ts',
      name: 'flushed in the middle of a burst: every stored event is applied once, by the sweeper',
    },
  },
  {
    failure: 'a worker killed while applying',
    test: {
      file: 'test/fault/worker-killed.fault-spec.ts',
      name: 'applies every one of ${N} events exactly once after a restart',
    },
  },
  {
    failure: 'a burst beyond what the workers apply',
    test: {
      file: 'test/e2e/outages.e2e-spec.ts',
      name: 'answers 429 with Retry-After once the inbox backlog passes INBOX_BACKLOG_LIMIT, storing nothing',
    },
  },
  {
    failure: 'an event that never arrived: reconciliation',
    test: {
      file: 'test/e2e/polling.e2e-spec.ts',
      name: 'applies events that never arrived, one PSP request per page, and only once',
    },
  },
  {
    failure: 'an event that keeps failing: dead letter and replay',
    test: {
      file: 'test/e2e/inbox-dead-letters.e2e-spec.ts',
      name: 'retries a failing event, marks it dead at the cap, then applies it once replayed after the fix',
    },
  },
];

const WEBHOOK: StrategyManifest = {
  scenario: 'webhook',
  shopFiles: RECEIVER,
  pspFiles: SENDER,
  movingParts: [
    'public endpoint',
    'signature check',
    'inbox',
    'queue',
    'state in the database',
    'scheduler',
    'background task',
  ],
  failureModes: [
    {
      failure: 'the happy path: signed webhook → order paid',
      test: {
        file: 'test/e2e/payment-flow.e2e-spec.ts',
        name: 'pays an order by webhook: payment succeeded, order paid, inbox processed, timeline complete',
      },
    },
    ...WEBHOOK_FAILURES,
    ...POLL_FAILURES,
  ],
};

export const MANIFEST: StrategyManifest[] = [
  {
    scenario: 'short_polling',
    shopFiles: POLLING,
    pspFiles: [],
    movingParts: ['scheduler', 'queue', 'state in the database'],
    failureModes: [
      {
        failure: 'polls at the configured interval until final',
        test: {
          file: 'test/e2e/polling.e2e-spec.ts',
          name: 'short polling asks every SHORT_POLL_INTERVAL_MS until final',
        },
      },
      ...POLL_FAILURES,
    ],
  },
  {
    scenario: 'long_polling',
    shopFiles: POLLING,
    pspFiles: ['src/psp-mock/settlement-notifier.ts'],
    movingParts: ['scheduler', 'queue', 'state in the database', 'held connection'],
    failureModes: [
      {
        failure: 'held until the PSP settles',
        test: { file: 'test/e2e/polling.e2e-spec.ts', name: 'long polling holds one request until the PSP settles' },
      },
      {
        failure: 'the wait ends before the payment is final',
        test: {
          file: 'test/e2e/polling.e2e-spec.ts',
          name: 'answers a long poll with the unchanged state after `wait` seconds',
        },
      },
      {
        failure: 'the client goes away while held',
        test: { file: 'test/e2e/polling.e2e-spec.ts', name: 'releases a held long poll when the client goes away' },
      },
      {
        failure: 'settled on another PSP replica',
        test: {
          file: 'test/e2e/polling.e2e-spec.ts',
          name: 'wakes a long poll held by another PSP replica (Redis pub/sub)',
        },
      },
      {
        failure: 'more held polls than the client pool',
        test: {
          file: 'src/payments/psp/http-psp.client.spec.ts',
          name: 'holds at most %i connections for 5 long polls at once',
        },
      },
      ...POLL_FAILURES,
    ],
  },
  WEBHOOK,
  {
    // The receiver and the fetch (a poll due at once, through the poll scheduler and queue):
    // the webhook's parts; its happy path is the fetch.
    ...WEBHOOK,
    scenario: 'thin_webhook',
    failureModes: [
      {
        failure: 'an event with ids only: fetch the state once',
        test: {
          file: 'test/e2e/thin-webhook.e2e-spec.ts',
          name: 'gets an event with ids only, fetches the state from the PSP once, and pays the order',
        },
      },
      ...WEBHOOK_FAILURES,
      ...POLL_FAILURES,
    ],
  },
];
