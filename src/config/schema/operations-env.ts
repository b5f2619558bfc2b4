import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { Doc, toInt } from './env-decorators.js';
import { PspMockEnv } from './psp-mock-env.js';

export const DOCS_ACCESS_MODES = ['public', 'admin', 'off'] as const;
export type DocsAccess = (typeof DOCS_ACCESS_MODES)[number];

/**
 * Operations: logs, metrics, the API documentation and trusted proxies. Extends PspMockEnv, so
 * that the variables keep their order in docs/configuration.md.
 */
export class OperationsEnv extends PspMockEnv {
  @Doc('Most verbose log level: fatal | error | warn | log | debug | verbose.')
  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';

  @Doc(
    'Log output: json (one JSON object a line), pretty (for people), or auto (pretty on a terminal outside production, else json)',
  )
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: 'auto' | 'json' | 'pretty' = 'auto';

  @Doc(
    'Bearer token /metrics on the main port requires (Authorization: Bearer <token>), 32+ characters; unset: open. In production set this or METRICS_PORT.',
  )
  @IsOptional()
  @Matches(/^[\x21-\x7e]{32,}$/, { message: 'METRICS_TOKEN must be at least 32 printable characters without spaces' })
  METRICS_TOKEN?: string = undefined;

  @Doc(
    'Serve /metrics on its own listener on this port (and not on PORT); unset: on PORT. In production set this or METRICS_TOKEN.',
  )
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  METRICS_PORT?: number = undefined;

  @Doc('Interface the METRICS_PORT listener binds: keep it internal (loopback or a private network).')
  @IsString()
  METRICS_HOST = '127.0.0.1';

  @Doc(
    'Swagger UI (/docs) and the OpenAPI document (/docs-json): public | admin (an ADMIN_API_KEYS key, Bearer or Basic) | off (not served). Default: public, or off when NODE_ENV=production.',
  )
  @IsOptional()
  @IsIn(DOCS_ACCESS_MODES)
  DOCS_ACCESS?: DocsAccess = undefined;

  @Doc(
    'Proxies whose X-Forwarded-For/-Proto count (addresses or CIDRs, comma-separated; none: no proxy is trusted). HSTS is sent only to requests that arrived over TLS, directly or through one of these.',
  )
  @IsString()
  TRUST_PROXY = 'none';

  @Doc(
    'Trace UI link on the payment page: a URL template with {traceId}, e.g. http://localhost:16686/trace/{traceId} (Jaeger); unset: no link. Tracing itself is configured by the standard OTEL_* variables (docs/tracing.md).',
  )
  @IsOptional()
  @Matches(/^https?:\/\/\S*\{traceId\}\S*$/, {
    message:
      'TRACE_UI_URL must be an http(s) URL template containing {traceId}, e.g. http://localhost:16686/trace/{traceId}',
  })
  TRACE_UI_URL?: string = undefined;
}
