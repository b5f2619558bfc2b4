// `npm run test:gateway`: the gateway test (test/gateway/*.gateway-spec.ts) runs Debian's
// Caddy with the repository's Caddyfile in front of real api and worker processes, as the
// fault tests run them. Same transforms, global setup (which builds dist/) and teardown as
// the fault project of jest.config.js; not part of `npm test`, which needs nothing but Node,
// PostgreSQL and Redis (.ci/run installs caddy and runs this tier).
const { projects } = require('./jest.config.js');

const fault = projects.find((p) => p.displayName === 'fault');

// A database of its own by default, so a gateway run never drops the other tiers' one.
process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/hookline_test_gateway';

module.exports = {
  ...fault,
  displayName: 'gateway',
  testMatch: ['<rootDir>/test/gateway/*.gateway-spec.ts'],
};
