import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Agent, errors, request } from 'undici';
import type { AllConfig } from '../../config/env.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { TLS_FAILURE_TEXT, tlsFailureReason } from '../../common/tls/tls-failure.js';
import { trustedCas } from '../../common/tls/trusted-cas.js';
import { CreatePspPayment, PspClient, PspEventPage, PspPaymentView } from './psp.client.js';

/** Speaks HTTP to the PSP's `/psp/v1` API over a keep-alive connection pool. */
@Injectable()
export class HttpPspClient extends PspClient implements OnModuleDestroy {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly agent: Agent;
  private closed?: Promise<void>;

  constructor(config: ConfigService<AllConfig, true>) {
    super();
    this.baseUrl = config.get('PSP_BASE_URL', { infer: true })!;
    this.apiKey = config.get('PSP_API_KEY', { infer: true });
    this.timeoutMs = config.get('PSP_TIMEOUT_MS', { infer: true });
    // Verified against the usual stores plus PSP_CA_FILE; nothing turns verification off.
    // Beyond PSP_CLIENT_CONNECTIONS, calls queue in the pool (docs/decisions/1101-psp-client-connections.md).
    const ca = trustedCas(config.get('PSP_CA_FILE', { infer: true }));
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      connections: config.get('PSP_CLIENT_CONNECTIONS', { infer: true }),
      ...(ca && { connect: { ca } }),
    });
  }

  /**
   * Nest calls this twice at shutdown, once for HttpPspClient and once for the PspClient
   * token whose factory returned this instance; undici rejects a second close.
   */
  onModuleDestroy(): Promise<void> {
    return (this.closed ??= this.agent.close());
  }

  createPayment(body: CreatePspPayment, idempotencyKey: string): Promise<PspPaymentView> {
    return this.call<PspPaymentView>('POST', '/psp/v1/payments', body, { 'idempotency-key': idempotencyKey });
  }

  getPayment(pspPaymentId: string, waitS?: number): Promise<PspPaymentView> {
    const query = waitS ? `?wait=${waitS}` : '';
    // A long poll legitimately takes up to waitS: the timeout runs on top of it.
    return this.call<PspPaymentView>(
      'GET',
      `/psp/v1/payments/${encodeURIComponent(pspPaymentId)}${query}`,
      undefined,
      {},
      (waitS ?? 0) * 1000,
    );
  }

  listEvents(after: string | null, limit: number): Promise<PspEventPage> {
    const params = new URLSearchParams({ limit: String(limit), ...(after ? { after } : {}) });
    return this.call<PspEventPage>('GET', `/psp/v1/events?${params.toString()}`);
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    extraTimeoutMs = 0,
  ): Promise<T> {
    const timeoutMs = this.timeoutMs + extraTimeoutMs;
    let res;
    try {
      res = await request(`${this.baseUrl}${path}`, {
        method,
        dispatcher: this.agent,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body ? JSON.stringify(body) : undefined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
        throw new DomainError(
          'PSP.TIMEOUT',
          504,
          'Payment provider timed out',
          `No answer from the PSP within ${timeoutMs} ms.`,
        );
      }
      const tls = tlsFailureReason(err);
      throw new DomainError(
        'PSP.UNAVAILABLE',
        502,
        'Payment provider unavailable',
        tls
          ? `Could not reach the PSP: ${TLS_FAILURE_TEXT[tls]} (${(err as Error).message})`
          : `Could not reach the PSP: ${(err as Error).message}`,
      );
    }
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) return JSON.parse(text) as T;
    // 409: a request with the same idempotency key is still in flight at the PSP; its
    // caller records the outcome.
    if (res.statusCode === 409) {
      throw new DomainError(
        'PSP.IN_PROGRESS',
        409,
        'Payment provider busy with this payment',
        `The PSP is still handling an earlier request with this idempotency key: ${text.slice(0, 300)}`,
      );
    }
    // 429 is "not now", not "no".
    const retryable = res.statusCode >= 500 || res.statusCode === 429;
    const code = retryable ? 'PSP.UNAVAILABLE' : 'PSP.REJECTED';
    throw new DomainError(
      code,
      502,
      'Payment provider error',
      `The PSP answered ${res.statusCode}: ${text.slice(0, 300)}`,
    );
  }
}
