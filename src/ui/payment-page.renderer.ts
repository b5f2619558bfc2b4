import { SafeHtml, markup } from './html.js';
import { field, page } from './page-layout.js';
import { formatAmount, formatMs } from './format.js';
import type { PaymentView } from './payment-timeline.view.js';
import type { TimelineStep } from './timeline-step.js';
import type { TraceLink } from './trace-link.js';

const iso = (d: Date | null) => (d ? d.toISOString() : '—');
const plus = (ms: number | null) => (ms === null ? '—' : `+${formatMs(ms)}`);

function viaBadge(view: PaymentView): SafeHtml {
  const via = view.resolvedVia ?? 'unresolved';
  const text = view.resolvedVia ? markup`<small>resolved via</small> ${view.resolvedLabel}` : 'not resolved yet';
  return markup`<span class="badge via via-${via}" id="resolved-via-badge" data-resolved-via="${via}" title="How the result reached the shop">${text}</span>`;
}

function stepItem(s: TimelineStep, maxGap: number): SafeHtml {
  const classes = ['step', `kind-${s.kind}`, `tone-${s.tone}`, `side-${s.side}`, s.highlight ? 'highlight' : '']
    .filter(Boolean)
    .join(' ');
  const delta = s.sincePrevMs === null ? '' : `Δ ${formatMs(s.sincePrevMs)}`;
  const pct = s.sincePrevMs === null ? 0 : Math.max(1, Math.round((100 * s.sincePrevMs) / maxGap));
  const bar =
    s.sincePrevMs === null
      ? null
      : markup`<div class="bar" title="time since the previous step, against the longest gap"><span style="width: ${pct}%"></span></div>`;
  const took = s.took ? markup`<span class="took">${s.took.what} ${formatMs(s.took.ms)}</span>` : null;
  const facts = s.facts.length
    ? markup`<dl class="facts">${s.facts.map(
        (f) => markup`<div><dt>${f.label}</dt><dd>${f.mono ? markup`<code>${f.value}</code>` : f.value}</dd></div>`,
      )}</dl>`
    : null;
  const time = s.at ? markup`<time class="abs" datetime="${s.at.toISOString()}">${s.at.toISOString()}</time>` : null;
  return markup`<li class="${classes}" data-kind="${s.kind}">
<div class="when"><span class="offset" title="since the payment was created">${plus(s.offsetMs)}</span><span class="delta" title="since the previous step">${delta}</span></div>
<div class="rail"><span class="dot"></span></div>
<div class="body">
<div class="head">${s.side === 'psp' ? markup`<span class="side-tag">PSP</span>` : null}<h3>${s.title}</h3>${took}</div>
${bar}
${facts}
${time}
</div>
</li>
`;
}

function itemsCard(view: PaymentView): SafeHtml | null {
  const items = view.order?.items ?? [];
  if (items.length === 0) return null;
  const rows = items.map(
    (i) =>
      markup`<tr><td><code>${i.sku}</code></td><td>${i.name}</td><td class="num">${i.quantity}</td><td class="num">${formatAmount(i.unitAmount, view.currency)}</td></tr>`,
  );
  return markup`<section class="card">
<h2>Order items</h2>
<table class="items"><thead><tr><th>SKU</th><th>Name</th><th class="num">Qty</th><th class="num">Unit (${view.currency})</th></tr></thead>
<tbody>${rows}</tbody></table>
</section>`;
}

/** The operator's payment page: its header, the order's items and the timeline. */
export function renderPaymentPage(view: PaymentView, traces: TraceLink[] = []): string {
  const order = view.order;
  const orderStatus = order
    ? markup`<span class="pill tone-${order.statusTone}" id="order-status">${order.status}</span>`
    : 'order not found';
  const body = markup`<main>
<section class="card summary">
<h1>Payment <code id="payment-id">${view.id}</code> <span class="pill tone-${view.statusTone}" id="payment-status">${view.status}</span> ${viaBadge(view)}</h1>
<dl class="grid">
${field('Payment id', view.id, { mono: true })}
${field('Order id', view.orderId, { mono: true })}
${field('Amount', `${view.amount} ${view.currency}`, { id: 'amount' })}
${field('Strategy', view.strategy, { id: 'strategy' })}
${field('Status', markup`<span class="pill tone-${view.statusTone}">${view.status}</span>`)}
${field('Resolved via', view.resolvedVia ? view.resolvedLabel : 'not resolved yet', { id: 'resolved-via' })}
${field('Order status', orderStatus)}
${field('Resolved', view.resolvedAt ? `${plus(view.resolvedAfterMs)} after creation` : 'not yet', { id: 'resolved-after' })}
${field('PSP payment', view.pspPaymentId, { mono: true })}
${field('Card', view.paymentMethod, { mono: true })}
${field('Created', iso(view.createdAt))}
${field('Polls', String(view.pollCount))}
${view.failureReason ? field('Failure reason', view.failureReason) : null}
${order?.paidAt ? field('Order paid at', iso(order.paidAt)) : null}
${traces.map((t, i) => field(t.label, markup`<a id="trace-link-${i}" href="${t.url}" rel="noopener noreferrer"><code>${t.traceId}</code></a>`))}
</dl>
${view.attentionReason ? markup`<div class="attention tone-warn"><strong>Needs attention:</strong> ${view.attentionReason}</div>` : null}
${view.live ? markup`<p class="notes">Still processing: this page refreshes every 2 s.</p>` : null}
</section>
${itemsCard(view)}
<section class="card">
<h2>Timeline</h2>
<p class="legend">Left: <strong>+offset</strong> from the payment's creation and <strong>Δ</strong> since the previous step (the bar: Δ against the longest gap). Right: the step's own duration. <span class="side-tag">PSP</span> marks the PSP's side.</p>
<ol class="steps" id="timeline">
${view.steps.map((s) => stepItem(s, view.maxSincePrevMs))}</ol>
</section>
${view.notes.map((n) => markup`<p class="notes">${n}</p>`)}
</main>`;
  const refresh = view.live ? markup`<meta http-equiv="refresh" content="2">` : null;
  return page(`Payment ${view.id}`, body, refresh);
}
