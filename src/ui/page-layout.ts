import { SafeHtml, markup } from './html.js';

/**
 * The document every operator page is drawn in: one stylesheet, the top bar, a field
 * of a summary grid, the error page. No scripts, no external resources (Helmet's CSP
 * allows 'self' and inline styles); every value goes through the escaping `markup` tag.
 */

const STYLE = `
:root { color-scheme: light; --ink: #1c2430; --muted: #5d6b7e; --line: #d9e0ea; --bg: #f5f7fa; --card: #fff;
  --good: #17803d; --good-bg: #e3f5e9; --bad: #b42318; --bad-bg: #fdecea; --warn: #9a5b00; --warn-bg: #fff4de;
  --info: #1f5fbf; --info-bg: #e6effc; --neutral: #44505f; --neutral-bg: #eef1f5; --psp: #6b3fa0; --psp-bg: #f1eaf9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.top { background: #16202c; color: #fff; padding: 10px 24px; font-weight: 600; letter-spacing: .2px; }
.top span { color: #9fb0c4; font-weight: 400; }
main { max-width: 1080px; margin: 0 auto; padding: 20px 24px 48px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 18px; }
h1 { font-size: 19px; margin: 0; display: flex; flex-wrap: wrap; align-items: center; gap: 10px; }
h2 { font-size: 15px; margin: 0 0 12px; }
.pill { display: inline-block; border-radius: 999px; padding: 2px 10px; font-size: 12.5px; font-weight: 600; }
.badge { display: inline-flex; align-items: center; gap: 6px; border-radius: 6px; padding: 4px 10px; font-size: 13px;
  font-weight: 700; text-transform: uppercase; letter-spacing: .4px; border: 2px solid currentColor; }
.badge small { font-weight: 500; text-transform: none; letter-spacing: 0; opacity: .8; }
.via-webhook { color: #0b6b5a; background: #dff5ef; }
.via-fallback_poll { color: #9a5b00; background: #fff4de; }
.via-short_poll, .via-long_poll { color: #1f5fbf; background: #e6effc; }
.via-reconciliation { color: #6b3fa0; background: #f1eaf9; }
.via-unresolved { color: #5d6b7e; background: #eef1f5; }
.tone-good { color: var(--good); background: var(--good-bg); }
.tone-bad { color: var(--bad); background: var(--bad-bg); }
.tone-warn { color: var(--warn); background: var(--warn-bg); }
.tone-info { color: var(--info); background: var(--info-bg); }
.tone-neutral { color: var(--neutral); background: var(--neutral-bg); }
dl.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 10px 20px; margin: 16px 0 0; }
dl.grid div { min-width: 0; }
dl.grid dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
dl.grid dd { margin: 2px 0 0; overflow-wrap: anywhere; }
.attention { margin-top: 14px; padding: 10px 12px; border-radius: 8px; }
table.items { border-collapse: collapse; width: 100%; margin-top: 6px; }
table.items th, table.items td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); }
table.items th { color: var(--muted); font-weight: 500; font-size: 12px; }
table.items td.num, table.items th.num { text-align: right; font-variant-numeric: tabular-nums; }
.legend { color: var(--muted); font-size: 12.5px; margin: -6px 0 14px; }
ol.steps { list-style: none; margin: 0; padding: 0; }
.step { display: grid; grid-template-columns: 118px 22px 1fr; column-gap: 10px; }
.when { text-align: right; padding-top: 9px; font-variant-numeric: tabular-nums; }
.offset { display: block; font-weight: 700; font-size: 14px; }
.delta { display: block; color: var(--muted); font-size: 12px; }
.rail { position: relative; }
.rail::before { content: ""; position: absolute; left: 10px; top: 0; bottom: 0; width: 2px; background: var(--line); }
.step:first-child .rail::before { top: 14px; }
.step:last-child .rail::before { bottom: calc(100% - 14px); }
.dot { position: absolute; left: 4px; top: 12px; width: 14px; height: 14px; border-radius: 50%; border: 3px solid #fff;
  box-shadow: 0 0 0 1px var(--line); background: var(--neutral); }
.tone-good > .rail .dot { background: var(--good); } .tone-bad > .rail .dot { background: var(--bad); }
.tone-warn > .rail .dot { background: var(--warn); } .tone-info > .rail .dot { background: var(--info); }
.step.side-psp > .rail .dot { background: var(--psp); }
.step { background: none; color: inherit; }
.body { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; margin: 4px 0 8px; min-width: 0; }
.step.side-psp .body { border-left: 4px solid var(--psp); }
.step.highlight .body { border: 2px solid var(--good); box-shadow: 0 0 0 4px var(--good-bg); }
.step.highlight.tone-bad .body { border-color: var(--bad); box-shadow: 0 0 0 4px var(--bad-bg); }
.head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px; }
.head h3 { font-size: 14px; margin: 0; }
.side-tag { font-size: 11px; font-weight: 700; border-radius: 4px; padding: 0 5px; color: var(--psp); background: var(--psp-bg); }
.took { margin-left: auto; font-size: 12.5px; font-weight: 600; font-variant-numeric: tabular-nums; color: var(--info); }
.bar { height: 4px; background: var(--neutral-bg); border-radius: 2px; margin: 6px 0 4px; overflow: hidden; }
.bar span { display: block; height: 100%; background: #8aa4c4; border-radius: 2px; }
dl.facts { display: flex; flex-wrap: wrap; gap: 2px 16px; margin: 4px 0 0; font-size: 12.5px; }
dl.facts div { display: flex; gap: 5px; min-width: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
time.abs { display: block; color: var(--muted); font-size: 11.5px; margin-top: 3px; }
.notes { color: var(--muted); font-size: 12.5px; }
.error { max-width: 640px; margin: 60px auto; }
`;

// A constant of this file, not data: the one fragment inserted unescaped (a <style>
// element's text is raw, so its quotes must stay quotes).
const STYLESHEET = new SafeHtml(STYLE);

/** The HTML document around a page's body, with the shared stylesheet. */
export function page(title: string, body: SafeHtml, extraHead: SafeHtml | null = null): string {
  return markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · Hookline</title>
${extraHead}
<style>${STYLESHEET}</style>
</head>
<body>
<div class="top">Hookline <span>· operator view</span></div>
${body}
</body>
</html>
`.value;
}

/** One labelled value of a summary grid (`dl.grid`). */
export function field(
  label: string,
  value: SafeHtml | string | null,
  opts: { id?: string; mono?: boolean } = {},
): SafeHtml {
  const v = value === null || value === '' ? '—' : value;
  const dd = opts.mono ? markup`<code>${v}</code>` : v;
  return markup`<div${opts.id ? markup` id="${opts.id}"` : null}><dt>${label}</dt><dd>${dd}</dd></div>`;
}

export function renderErrorPage(status: number, title: string, message: string): string {
  return page(
    `${status} ${title}`,
    markup`<main><section class="card error"><h1>${status} · ${title}</h1><p>${message}</p></section></main>`,
  );
}
