/** The variables an operator sets, named in every refusal. */
export const HTTPS_ONLY_VARIABLE = 'WEBHOOK_HTTPS_ONLY';
export const HTTP_ALLOWED_HOSTS_VARIABLE = 'WEBHOOK_HTTP_ALLOWED_HOSTS';

/**
 * Whether a merchant endpoint's URL may be plain http://. With WEBHOOK_HTTPS_ONLY (on by
 * default in production) only https:// is, except for the hosts an operator lists in
 * WEBHOOK_HTTP_ALLOWED_HOSTS (written as in the URL: a name, an IPv4 address, or an IPv6
 * address without brackets). Signed bodies still travel in clear over http: the
 * signature stops forgery, not reading (docs/decisions/0805-https-only-endpoints-in-production.md).
 */
export class EndpointSchemePolicy {
  private readonly httpHosts: ReadonlySet<string>;

  constructor(
    readonly httpsOnly: boolean,
    httpAllowedHosts: string,
  ) {
    const hosts = httpAllowedHosts.trim() === 'none' ? [] : httpAllowedHosts.split(',');
    this.httpHosts = new Set(hosts.map((h) => h.trim().toLowerCase()).filter(Boolean));
  }

  /** Why `url` may not be used, or null when it may (an unparsable URL is the address check's to refuse). */
  refusal(url: string): string | null {
    if (!this.httpsOnly) return null;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null;
    }
    if (parsed.protocol !== 'http:') return null;
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    if (this.httpHosts.has(host)) return null;
    return `http:// is refused while ${HTTPS_ONLY_VARIABLE} is on (use https://, or list ${host} in ${HTTP_ALLOWED_HOSTS_VARIABLE})`;
  }
}
