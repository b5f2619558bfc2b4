import type { DeliveryAttemptRecord } from '../webhooks/outbound/delivery-attempt-read-model.js';
import { SafeHtml, markup } from './html.js';
import { field, page } from './page-layout.js';

export interface EndpointPageView {
  id: string;
  owner: string;
  url: string;
  description: string;
  eventTypes: string[] | null;
  status: string;
  disabledReason: string | null;
  rateLimitPerS: number | null;
  failingSince: Date | null;
  lastSuccessAt: Date | null;
  createdAt: Date;
  deliveries: {
    id: string;
    eventId: string;
    eventType: string;
    status: string;
    attempts: number;
    nextAttemptAt: Date | null;
    createdAt: Date;
    history: Omit<DeliveryAttemptRecord, 'deliveryId'>[];
  }[];
}

const TONE: Record<string, string> = {
  enabled: 'good',
  disabled: 'bad',
  succeeded: 'good',
  failed: 'bad',
  pending: 'warn',
};
const pill = (status: string, id?: string) =>
  markup`<span class="pill tone-${TONE[status] ?? 'neutral'}"${id ? markup` id="${id}"` : null}>${status}</span>`;
const iso = (d: Date | null) => (d ? d.toISOString() : '—');

/**
 * The delivery history of one webhook endpoint: its state, and its latest deliveries
 * with every attempt (status code, duration, error, the first bytes of the answer —
 * text the endpoint chose, so escaped like everything else).
 */
export function renderEndpointPage(view: EndpointPageView): string {
  const rows = view.deliveries.map((d) => {
    const attempts = d.history.map(
      (a) =>
        markup`<tr class="attempt"><td class="num">${a.number}</td><td>${iso(a.startedAt)}</td><td class="num">${a.durationMs} ms</td><td>${a.statusCode === null ? '—' : String(a.statusCode)}</td><td>${a.succeeded ? pill('succeeded') : pill('failed')}</td><td>${a.error ?? ''}</td><td><code>${a.responseExcerpt ?? ''}</code></td></tr>`,
    );
    return markup`<details class="delivery" data-delivery-id="${d.id}" ${d.status === 'succeeded' ? null : new SafeHtml('open')}>
<summary>${pill(d.status)} <strong>${d.eventType}</strong> <code>${d.eventId}</code> · ${d.attempts} attempt(s) · created ${iso(d.createdAt)}${d.nextAttemptAt ? ` · next attempt ${iso(d.nextAttemptAt)}` : ''}</summary>
<table class="items"><thead><tr><th class="num">#</th><th>Started</th><th class="num">Took</th><th>HTTP</th><th>Outcome</th><th>Error</th><th>Answer (first 1 KB)</th></tr></thead>
<tbody>${attempts.length > 0 ? attempts : markup`<tr><td colspan="7">no attempt yet</td></tr>`}</tbody></table>
</details>`;
  });
  const body = markup`<main>
<section class="card summary">
<h1>Webhook endpoint <code id="endpoint-id">${view.id}</code> ${pill(view.status, 'endpoint-status')}</h1>
${view.disabledReason ? markup`<div class="attention tone-bad" id="disabled-reason"><strong>Disabled:</strong> ${view.disabledReason}</div>` : null}
<dl class="grid">
${field('URL', view.url, { mono: true, id: 'endpoint-url' })}
${field('Description', view.description)}
${field('Event types', view.eventTypes ? view.eventTypes.join(', ') : 'all')}
${field('Rate limit', view.rateLimitPerS === null ? 'none' : `${view.rateLimitPerS}/s`)}
${field('Failing since', view.failingSince ? iso(view.failingSince) : 'not failing')}
${field('Last success', iso(view.lastSuccessAt))}
${field('Created', iso(view.createdAt))}
</dl>
</section>
<section class="card">
<h2>Latest deliveries (${view.deliveries.length})</h2>
<p class="legend">Newest first; deliveries that did not succeed are open. Retry one with <code>POST /webhook-deliveries/:id/retry</code>.</p>
<div id="deliveries">${rows.length > 0 ? rows : markup`<p>No delivery yet.</p>`}</div>
</section>
</main>`;
  return page(`Endpoint ${view.id}`, body);
}
