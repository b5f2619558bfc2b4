// `npm run test:browser`: the browser tests (test/browser/*.browser-spec.ts) drive
// Debian's Chromium with playwright-core against the real app started in-process, like
// the e2e tests. Same transforms, global setup and teardown as the e2e project of
// jest.config.js; not part of `npm test`.
const { projects } = require('./jest.config.js');

const e2e = projects.find((p) => p.displayName === 'e2e');

// A database of its own by default, so a browser run never drops the e2e tests' one.
process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/hookline_test_browser';

module.exports = {
  ...e2e,
  displayName: 'browser',
  testMatch: ['<rootDir>/test/browser/*.browser-spec.ts'],
  testTimeout: 180_000,
};
