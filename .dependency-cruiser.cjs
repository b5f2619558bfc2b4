// Hookline's architecture in a page: which folder of src/ may import which.
// `npm run lint` runs it (depcruise); a broken rule fails the build, not a review.
// Paths are the resolved files, so `import type` counts as much as a value import.
// CONVENTIONS.md → Layout describes the folders; docs/architecture.md the why.

/** The features: each owns its tables, its routes and its tasks. */
const FEATURES = '(orders|payments|psp-mock|webhooks/inbound|webhooks/outbound|ui)';

/**
 * What a feature shows the others today. A feature reaches another only through these
 * files; reaching any other file of it fails. Entities in this list are debt
 * (CONVENTIONS: never through another module's entity) — shrink it, never grow it
 * without saying why in the commit.
 */
const PUBLIC_SURFACE = [
  // orders: its service and module (payments mark orders paid), its entity and states.
  'src/orders/orders[.](module|service)[.]ts',
  'src/orders/order[.]entity[.]ts',
  // payments: its module, its states, and the read model the payment page reads.
  'src/payments/payments[.]module[.]ts',
  'src/payments/payment-status[.]ts',
  // psp-mock: its module, and the read model of the events the payment page shows.
  'src/psp-mock/psp-mock[.]module[.]ts',
  // inbound webhooks: the module handlers' owners import, the inbox writer reconciliation
  // stores through and the handler port they implement.
  'src/webhooks/inbound/(inbound[.]module|inbox-writer|webhook-handler)[.]ts',
  // outbound webhooks: its module, the outbox writers enqueue into, the sender of a first attempt
  // on commit, endpoints, the publishers' hooks.
  'src/webhooks/outbound/(outbound[.]module|webhook-outbox|direct-sender|outbound-hooks|endpoints[.]service)[.]ts',
  // Read models: plain records a feature exports for the UI's pages.
  'src/(payments/payment|orders/order|psp-mock/psp-event|webhooks/inbound/inbox|webhooks/outbound/delivery-attempt)-read-model[.]ts',
  'src/webhooks/outbound/dto/endpoint[.]dto[.]ts',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'common-is-a-leaf',
      comment:
        'src/common/ holds pure helpers and primitives (errors, crypto, ids, durations, db, validation): ' +
        'it imports nothing else of src/ — no feature, no http/, no metrics/, no config/ (not even a type). ' +
        'Something that reads config or metrics, or has its own tables, is a module with its own folder.',
      severity: 'error',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/common/' },
    },
    {
      name: 'common-reads-no-config-or-metrics',
      comment:
        'src/common/ takes settings as parameters and counts nothing: @nestjs/config and prom-client ' +
        'belong to config/ and metrics/.',
      severity: 'error',
      from: { path: '^src/common/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], path: 'node_modules/(@nestjs/config|prom-client)/' },
    },
    {
      name: 'config-reads-only-common',
      comment:
        'src/config/ validates the environment at boot: it may use common/ helpers and nothing else of src/, ' +
        'so every module can read it without a cycle.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(common|config)/' },
    },
    {
      name: 'http-knows-no-feature',
      comment:
        'src/http/ is what every route shares (key guards, Idempotency-Key, rate limiting, security headers): ' +
        'features use it, it never uses a feature.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: `^src/${FEATURES}/` },
    },
    {
      name: 'infrastructure-knows-no-feature',
      comment: 'metrics/, logging/ and health/ sit under the features: they never import one.',
      severity: 'error',
      from: { path: '^src/(metrics|logging|health)/' },
      to: { path: `^src/${FEATURES}/` },
    },
    {
      name: 'orders-imports-no-feature',
      comment:
        'orders/ is the core the other features build on: it imports no other feature, except the outbound ' +
        'outbox (and its module) it writes order events into in its own transaction.',
      severity: 'error',
      from: { path: '^src/orders/' },
      to: {
        path: `^src/${FEATURES}/`,
        pathNot: ['^src/orders/', '^src/webhooks/outbound/(webhook-outbox|outbound[.]module)[.]ts$'],
      },
    },
    {
      name: 'features-meet-through-their-public-surface',
      comment:
        'A feature reaches another only through the files PUBLIC_SURFACE lists (.dependency-cruiser.cjs), ' +
        'never through its internals (repositories, processors, tasks, its other entities).',
      severity: 'error',
      from: { path: `^src/${FEATURES}/` },
      to: { path: `^src/${FEATURES}/`, pathNot: ['^src/$1/', ...PUBLIC_SURFACE.map((file) => `^${file}$`)] },
    },
    {
      name: 'ui-reads-no-entities',
      comment:
        'The UI reads other features through the read models and services they export, never through ' +
        'their entities (not even a type): a page shows plain records, so a table can change behind it.',
      severity: 'error',
      from: { path: '^src/ui/' },
      to: { path: '[.]entit(y|ies)[.]ts$' },
    },
    {
      name: 'bootstrap-knows-no-feature',
      comment:
        'bootstrap.ts and main.ts build and stop the process: what a feature adds to it (Swagger schemes, ' +
        'startup lines, drain hooks) reaches them as a BootContribution through AppModule, never by import.',
      severity: 'error',
      from: { path: '^src/(bootstrap|main)[.]ts$' },
      to: { path: `^src/${FEATURES}/` },
    },
    {
      name: 'redis-connections-come-from-src-redis',
      comment:
        'Only src/redis/ opens Redis connections (RedisConnections: REDIS_URL, the error listener, closed on ' +
        'shutdown); everything else asks it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/redis/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], path: 'node_modules/ioredis/' },
    },
    {
      name: 'telemetry-knows-no-feature',
      comment:
        'src/telemetry/ starts tracing before the app loads and holds the trace-context helpers every hop uses: ' +
        'it imports no other folder of src/, so main.ts can load it first.',
      severity: 'error',
      from: { path: '^src/telemetry/' },
      to: { path: '^src/', pathNot: '^src/telemetry/' },
    },
    {
      name: 'only-telemetry-loads-the-sdk',
      comment:
        'The OpenTelemetry SDK and instrumentations are loaded by src/telemetry/ only, and only when tracing is ' +
        'configured; everything else uses @opentelemetry/api (a no-op without the SDK) through src/telemetry/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/telemetry/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], path: 'node_modules/@opentelemetry/' },
    },
    {
      name: 'src-stands-alone',
      comment: 'The app never imports test/ or scripts/: they use src/, not the other way round.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
};
