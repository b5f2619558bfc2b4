/**
 * Whether Hookline starts the OpenTelemetry SDK, from the standard `OTEL_*` variables
 * only: off unless an exporter is asked for (OTEL_TRACES_EXPORTER set to something but
 * `none`, or an OTLP endpoint given); OTEL_SDK_DISABLED=true wins over both. The SDK's
 * own default exporter is `otlp`, so without this rule every process would try to send
 * spans to localhost:4318 (docs/decisions/1201-tracing-off-unless-configured.md).
 */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (exporters.length > 0) return exporters.some((name) => name !== 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/** The service name a role reports when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one. */
export function defaultServiceName(role: string | undefined): string {
  const r = role?.trim();
  return r && r !== 'all' ? `hookline-${r}` : 'hookline';
}

/** Whether the operator named the service already (OTEL_SERVICE_NAME, or service.name in OTEL_RESOURCE_ATTRIBUTES). */
export function serviceNamed(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SERVICE_NAME?.trim()) return true;
  return (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',').some((pair) => pair.split('=')[0].trim() === 'service.name');
}
