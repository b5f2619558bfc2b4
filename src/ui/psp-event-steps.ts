import type { PspEventRecord } from '../psp-mock/psp-event-read-model.js';
import { between, fact, step, type StepDraft, type Tone } from './timeline-step.js';

/** The PSP's side of one event: created (the settlement) and its delivery to the shop. */
export function pspEventSteps(e: PspEventRecord): StepDraft[] {
  const steps: StepDraft[] = [];
  const delivery: Record<string, { text: string; tone: Tone }> = {
    none: { text: 'not sent: no callback URL (polling strategy)', tone: 'neutral' },
    pending: { text: 'pending: being delivered or waiting to retry', tone: 'warn' },
    delivered: { text: 'delivered (2xx from the shop)', tone: 'good' },
    failed: { text: 'failed: attempts exhausted', tone: 'bad' },
    dropped: { text: 'dropped by chaos: never sent', tone: 'warn' },
  };
  const status = delivery[e.deliveryStatus] ?? { text: e.deliveryStatus, tone: 'neutral' };
  steps.push(
    step({
      kind: 'psp-event',
      title: `PSP emitted ${e.type}`,
      at: e.createdAt,
      side: 'psp',
      tone: status.tone === 'good' ? 'info' : status.tone,
      facts: [
        ...fact('event', e.id, true),
        ...fact('delivery', status.text),
        ...fact('delivery attempts', String(e.deliveryAttempts)),
        ...fact('last delivery error', e.lastDeliveryError),
        ...fact('callback', e.callbackUrl, true),
      ],
    }),
  );
  if (e.deliveredAt) {
    steps.push(
      step({
        kind: 'psp-delivered',
        title: `PSP got a 2xx from the shop for ${e.type}`,
        at: e.deliveredAt,
        side: 'psp',
        tone: 'good',
        took: { ms: between(e.createdAt, e.deliveredAt)!, what: 'delivery' },
        facts: [
          ...fact('event', e.id, true),
          ...fact('attempt', `${e.deliveryAttempts} (${e.deliveryAttempts === 1 ? 'first try' : 'after retries'})`),
          ...fact('last error before success', e.lastDeliveryError),
        ],
      }),
    );
  }
  return steps;
}
