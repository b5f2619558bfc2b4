import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Agent, request } from 'undici';
import { signHeader } from '../../../common/crypto/standard-webhooks.js';
import type { AllConfig } from '../../../config/env.js';
import { TLS_FAILURE_TEXT, tlsFailureReason, type TlsFailureReason } from '../../../common/tls/tls-failure.js';
import { trustedCas } from '../../../common/tls/trusted-cas.js';
import { MAX_DELIVERY_WAIT_MS } from '../../../config/bounds.js';
import type { AddressPolicy } from '../http/address-policy.js';
import { createGuardedAgent } from '../http/guarded-agent.js';
import { OutboundAddressPolicies } from '../http/outbound-address-policies.js';
import { OutboundHooks } from '../outbound-hooks.js';
import type { OutboundOwner, WebhookEndpoint } from '../outbound.entities.js';
import { SigningSecrets } from '../signing-secrets.js';

/** The first bytes of an answer kept on the attempt. */
export const RESPONSE_EXCERPT_BYTES = 1024;

/** What an endpoint answered to one POST (or why there was no answer). */
export interface HttpAnswer {
  statusCode: number | null;
  retryAfterMs: number | null;
  excerpt: string | null;
  error: string | null;
  /** Why the TLS connection failed, when that is why there was no answer. */
  tlsFailure?: TlsFailureReason | null;
  durationMs: number;
}

/**
 * Signs and POSTs a delivery's body: Standard Webhooks (during a rotation's grace period
 * with both secrets; a callback endpoint with its publisher's signer), through an undici
 * pool per address policy that refuses private addresses at connect time.
 */
@Injectable()
export class DeliveryHttpClient implements OnModuleDestroy {
  /** One connection pool per address policy: a pooled socket was checked by the policy of its pool. */
  private readonly agents: Map<AddressPolicy, Agent>;
  private readonly timeoutMs: number;

  constructor(
    private readonly hooks: OutboundHooks,
    private readonly policies: OutboundAddressPolicies,
    private readonly secrets: SigningSecrets,
    config: ConfigService<AllConfig, true>,
  ) {
    this.timeoutMs = config.get('WEBHOOK_ATTEMPT_TIMEOUT_MS', { infer: true });
    const agentOptions = {
      connections: 64,
      keepAliveTimeoutMs: 10_000,
      connectTimeoutMs: Math.min(this.timeoutMs, 10_000),
    };
    // Each pool trusts its own extra CAs: a merchant's endpoint never gets the CA the PSP mock
    // trusts for the shop (docs/decisions/0803-one-ca-file-per-caller.md).
    const caFiles = new Map([
      [policies.endpoints, config.get('OUTBOUND_CA_FILE', { infer: true })],
      [policies.callbacks, config.get('PSP_MOCK_CA_FILE', { infer: true })],
    ]);
    this.agents = new Map(
      [...caFiles].map(([policy, caFile]) => [
        policy,
        createGuardedAgent(policy, { ...agentOptions, ca: trustedCas(caFile) }),
      ]),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
  }

  /** The headers that sign `body` for this endpoint. */
  signatureHeaders(owner: OutboundOwner, endpoint: WebhookEndpoint, id: string, body: string): Record<string, string> {
    const timestamp = Math.floor(Date.now() / 1000);
    if (endpoint.kind === 'callback' || !endpoint.sealedSecret) {
      const signer = this.hooks.for(owner).callbackSigner;
      if (!signer) throw new Error(`No signer for ${owner} callback deliveries`);
      return signer.sign(id, timestamp, body);
    }
    // Opened once per endpoint and kept in memory while its sealed values stay the same.
    const { secret, previousSecret } = this.secrets.open(endpoint);
    const secrets = [secret!];
    if (previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > new Date()) {
      secrets.push(previousSecret);
    }
    return {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signHeader(secrets, id, timestamp, body),
    };
  }

  /**
   * One signed POST; never throws (a failure is in the answer). `transform` changes the
   * body after it is signed (a publisher's hook: the PSP mock's chaos).
   */
  async post(
    owner: OutboundOwner,
    endpoint: WebhookEndpoint,
    id: string,
    body: string,
    transform?: (signed: string) => string,
  ): Promise<HttpAnswer> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    const schemeRefusal = this.policies.schemeRefusal(endpoint);
    if (schemeRefusal !== null) {
      return { statusCode: null, retryAfterMs: null, excerpt: null, error: schemeRefusal, durationMs: took() };
    }
    const deadline = attemptDeadline(this.timeoutMs);
    try {
      const headers = this.signatureHeaders(owner, endpoint, id, body);
      const res = await request(endpoint.url, {
        method: 'POST',
        dispatcher: this.agents.get(this.policies.for(endpoint)),
        headers: {
          'content-type': 'application/json',
          'user-agent': owner === 'psp' ? 'hookline-psp-mock/1.0' : 'hookline-webhooks/1.0',
          ...headers,
        },
        body: transform ? transform(body) : body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: deadline.signal,
      });
      const excerpt = await readExcerpt(res.body);
      const retryAfterMs =
        res.statusCode === 429 || res.statusCode === 503 ? parseRetryAfter(res.headers['retry-after']) : null;
      return { statusCode: res.statusCode, retryAfterMs, excerpt, error: null, durationMs: took() };
    } catch (err) {
      return {
        statusCode: null,
        retryAfterMs: null,
        excerpt: null,
        error: describeError(err, this.timeoutMs),
        tlsFailure: tlsFailureReason(err),
        durationMs: took(),
      };
    } finally {
      deadline.end();
    }
  }
}

/**
 * An attempt's deadline: `signal` aborts with a TimeoutError (as AbortSignal.timeout's)
 * after `ms`, unless `end()` came first. Not AbortSignal.timeout, which cannot be
 * cancelled: each attempt's timer fired 15 s (WEBHOOK_ATTEMPT_TIMEOUT_MS) after it ended,
 * waking the process and building an exception for nobody. After a burst of N deliveries
 * that was N wake-ups over the next 15 s: the PSP mock, idle after the checkout bench's
 * closed loop, woke 88–99 times a second.
 */
export function attemptDeadline(ms: number): { signal: AbortSignal; end(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  );
  timer.unref();
  return { signal: controller.signal, end: () => clearTimeout(timer) };
}

/** Reads at most RESPONSE_EXCERPT_BYTES of a body, then lets the rest go. */
async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= RESPONSE_EXCERPT_BYTES) {
      body.destroy();
      break;
    }
  }
  if (size === 0) return null;
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8').replaceAll('\0', '');
}

/** A failure as one line an operator understands: timeouts, refused targets, connection errors. */
export function describeError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { code?: string; cause?: Error & { code?: string } };
  const tls = tlsFailureReason(err);
  if (tls !== null) {
    const detail =
      tls === 'handshake_timeout' ? `no handshake within ${timeoutMs} ms` : (e?.cause?.message ?? e?.message);
    return `tls ${tls}: ${TLS_FAILURE_TEXT[tls]} (${detail})`;
  }
  const name = e?.name ?? '';
  if (
    name === 'TimeoutError' ||
    name === 'HeadersTimeoutError' ||
    name === 'BodyTimeoutError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `timeout: no complete answer within ${timeoutMs} ms`;
  }
  let inner: (Error & { code?: string; cause?: unknown }) | undefined = e;
  for (let i = 0; i < 4 && inner; i++) {
    if (inner.name === 'RefusedAddressError' || inner.code === 'WEBHOOK_TARGET_REFUSED') return inner.message;
    inner = inner.cause as typeof inner;
  }
  const cause = e?.cause;
  const code = cause?.code ?? e?.code;
  const message = cause?.message ?? e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Retry-After as ms (at most MAX_DELIVERY_WAIT_MS): delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return null;
  // Capped: whatever a receiver asks, the wait stays one the engine can store and schedule.
  if (/^\d+$/.test(raw)) return Math.min(Number(raw) * 1000, MAX_DELIVERY_WAIT_MS);
  if (/^[-+.\d]+$/.test(raw)) return null;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - nowMs), MAX_DELIVERY_WAIT_MS);
}
