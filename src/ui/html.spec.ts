import { escapeHtml, markup } from './html.js';

const XSS = `<script>alert("x")</script><img src=x onerror='alert(1)'>&\``;

describe('markup (escaping template tag)', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const out = markup`<p title="${XSS}">${XSS}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('<img');
    expect(out).toBe(`<p title="${escapeHtml(XSS)}">${escapeHtml(XSS)}</p>`);
    expect(escapeHtml(XSS)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;&#96;',
    );
  });

  it('passes fragments made by markup through, escapes lists element by element, drops null/undefined/false', () => {
    const items = ['<a>', markup`<b>${'<c>'}</b>`];
    expect(markup`<i>${items}${null}${undefined}${false}${0}</i>`.value).toBe('<i>&lt;a&gt;<b>&lt;c&gt;</b>0</i>');
  });
});
