import { defaultServiceName, serviceNamed, tracingEnabled } from './tracing-switch';

describe('tracingEnabled', () => {
  it('is off when nothing is configured (the SDK would default to an otlp exporter)', () => {
    expect(tracingEnabled({})).toBe(false);
  });

  it('is on for an exporter other than none, or an OTLP endpoint', () => {
    expect(tracingEnabled({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingEnabled({ OTEL_TRACES_EXPORTER: 'none, console' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces' })).toBe(true);
  });

  it('is off for exporter none, even with an endpoint, and whenever OTEL_SDK_DISABLED is true', () => {
    expect(tracingEnabled({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318' })).toBe(false);
    expect(tracingEnabled({ OTEL_TRACES_EXPORTER: ' ' })).toBe(false);
    expect(tracingEnabled({ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
    expect(tracingEnabled({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
  });
});

describe('service name', () => {
  it('defaults per role', () => {
    expect(defaultServiceName('api')).toBe('hookline-api');
    expect(defaultServiceName('worker')).toBe('hookline-worker');
    expect(defaultServiceName('psp')).toBe('hookline-psp');
    expect(defaultServiceName('all')).toBe('hookline');
    expect(defaultServiceName(undefined)).toBe('hookline');
  });

  it('is the operator’s when OTEL_SERVICE_NAME or service.name in OTEL_RESOURCE_ATTRIBUTES names it', () => {
    expect(serviceNamed({})).toBe(false);
    expect(serviceNamed({ OTEL_SERVICE_NAME: 'shop' })).toBe(true);
    expect(serviceNamed({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, service.name=shop' })).toBe(true);
    expect(serviceNamed({ OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=shop' })).toBe(false);
  });
});
