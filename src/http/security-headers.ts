import { resolveSecurityHeaders } from '@nestjs/core/security/security-headers.js';
import type { FastifyRequest } from 'fastify';

/**
 * helmet 8's headers, with a Content-Security-Policy that lets no inline script run
 * (`script-src 'self'`, `script-src-attr 'none'`: the /ui pages have no script, Swagger
 * UI loads its own as files). Styles stay inline-capable: the pages carry one <style>.
 */
const DIRECTIVES = {
  defaultSrc: [`'self'`],
  styleSrc: [`'self'`, `'unsafe-inline'`],
  imgSrc: [`'self'`, 'data:'],
  scriptSrc: [`'self'`],
  scriptSrcAttr: [`'none'`],
};

type HeaderSet = readonly (readonly [string, string])[];
/** The shape of FastifyAdapter.registerSecurityHook's hook (Nest's own type is internal). */
type HeaderTarget = { setHeader(name: string, value: string): unknown; removeHeader(name: string): unknown };

/**
 * Whether the request reached Hookline over TLS: on a TLS socket, or from a proxy named
 * in TRUST_PROXY that says so in X-Forwarded-Proto (Fastify's `request.protocol`, which
 * ignores that header from any other peer).
 */
export function arrivedOverTls(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

/**
 * The security headers of every response, computed once at boot in two sets, one
 * chosen per request. HSTS and the CSP's `upgrade-insecure-requests` only go to
 * requests that arrived over TLS: said over plain HTTP they make a browser on another
 * host fetch the page's assets over https, which a plain-HTTP port does not serve
 * (docs/decisions/0703-hsts-only-over-tls.md).
 */
export class SecurityHeaders {
  private readonly plain: HeaderSet;
  private readonly tls: HeaderSet;
  private readonly remove: readonly string[];

  constructor() {
    const tls = resolveSecurityHeaders({ contentSecurityPolicy: { directives: DIRECTIVES } });
    const plain = resolveSecurityHeaders({
      contentSecurityPolicy: { directives: { ...DIRECTIVES, upgradeInsecureRequests: null } },
      strictTransportSecurity: false,
    });
    this.tls = tls.headers;
    this.plain = plain.headers;
    this.remove = tls.removeHeaders;
  }

  /** For FastifyAdapter.registerSecurityHook: runs before routing ends a request, so 404s carry the headers too. */
  readonly hook = (request: FastifyRequest, response: HeaderTarget): undefined => {
    for (const [name, value] of arrivedOverTls(request) ? this.tls : this.plain) response.setHeader(name, value);
    for (const name of this.remove) response.removeHeader(name);
    return undefined;
  };
}
