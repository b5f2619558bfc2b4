import type { TimelineEntryRecord } from '../payments/payment-read-model.js';
import type { InboxEventRecord } from '../webhooks/inbound/inbox-read-model.js';
import { between, date, fact, step, str, type StepDraft } from './timeline-step.js';

/**
 * The steps of one inbound event: received, signature verified (stored in the inbox),
 * queued, processed by the worker. `entry` is the timeline entry the handler wrote, if
 * it got that far; the inbox row adds what happened after (processed_at, outcome).
 */
export function inboundEventSteps(
  entry: TimelineEntryRecord | null,
  row: InboxEventRecord | undefined,
  resolvingEventId: string | null,
): StepDraft[] {
  const d = entry?.detail ?? {};
  const eventId = str(d.eventId) ?? row?.eventId ?? null;
  const eventType = str(d.eventType) ?? row?.eventType ?? null;
  const pulled = row?.receivedVia === 'reconciliation' || (entry?.type === 'poll_result' && !!eventId);
  const receivedAt = date(d.receivedAt) ?? row?.receivedAt ?? entry?.at ?? null;
  const verifiedAt = date(d.verifiedAt) ?? row?.verifiedAt ?? null;
  const queuedAt = row?.queuedAt ?? date(d.queuedAt);
  const pspCreatedAt = date(d.pspCreatedAt);
  const resolvedIt = !!eventId && eventId === resolvingEventId;
  const steps: StepDraft[] = [];

  steps.push(
    step({
      kind: pulled ? 'event-pulled' : 'webhook-received',
      title: pulled
        ? `Event pulled by reconciliation: ${eventType ?? 'event'}`
        : `Webhook received: ${eventType ?? 'event'}`,
      at: receivedAt,
      tone: resolvedIt ? 'good' : entry ? 'info' : 'warn',
      took:
        !pulled && pspCreatedAt && receivedAt ? { ms: between(pspCreatedAt, receivedAt)!, what: 'in flight' } : null,
      facts: [
        ...fact('event', eventId, true),
        ...fact('PSP status', str(d.pspStatus)),
        ...fact('PSP created the event at', pspCreatedAt),
        ...(resolvedIt ? fact('effect', 'this event resolved the payment') : []),
        ...(entry ? [] : fact('effect', 'not applied to the payment yet')),
      ],
    }),
  );
  if (verifiedAt && !pulled) {
    steps.push(
      step({
        kind: 'signature-verified',
        title: 'Signature verified, stored in the inbox',
        at: verifiedAt,
        tone: 'good',
        took: receivedAt ? { ms: between(receivedAt, verifiedAt)!, what: 'check' } : null,
        facts: [...fact('inbox row', row?.id ?? str(d.inboxId), true)],
      }),
    );
  }
  if (queuedAt) {
    steps.push(
      step({
        kind: 'queued',
        title: 'Queued for the inbox worker',
        at: queuedAt,
        took: { ms: between(verifiedAt ?? receivedAt, queuedAt) ?? 0, what: 'inbox write' },
        facts: pulled ? fact('inbox row', row?.id ?? str(d.inboxId), true) : [],
      }),
    );
  }
  if (row?.processedAt) {
    steps.push(
      step({
        kind: 'processed',
        title: `Processed by the inbox worker: ${row.status}`,
        at: row.processedAt,
        tone: row.status === 'processed' ? 'good' : 'warn',
        took: queuedAt ? { ms: between(queuedAt, row.processedAt)!, what: 'queue + processing' } : null,
        facts: [
          ...fact('outcome', row.outcome),
          ...fact('attempts', String(row.attempts)),
          ...fact('last error', row.lastError),
        ],
      }),
    );
  } else if (row) {
    steps.push(
      step({
        kind: 'processing-pending',
        title: 'Not processed yet',
        at: null,
        tone: 'warn',
        facts: [...fact('attempts', String(row.attempts)), ...fact('last error', row.lastError)],
      }),
    );
  }
  return steps;
}
