import { renderErrorPage } from './page-layout.js';

const XSS = `<script>alert("x")</script><img src=x onerror='alert(1)'>&\``;

describe('renderErrorPage', () => {
  it('escapes the message of an error page', () => {
    const page = renderErrorPage(404, 'Not found', `No payment with id ${XSS}.`);
    expect(page).toContain('404 · Not found');
    expect(page).not.toContain('<script>');
  });
});
