// NestJS 12 ships ESM only and jest on Node 20 cannot require() ESM, so the
// @nestjs packages are compiled to CommonJS by babel-jest; our own .ts by ts-jest.
const path = require('node:path');

const babelEsmToCjs = [
  'babel-jest',
  {
    babelrc: false,
    configFile: false,
    plugins: [
      path.join(__dirname, 'test/setup/babel-rename-require.cjs'),
      'babel-plugin-transform-import-meta',
      '@babel/plugin-transform-dynamic-import',
      '@babel/plugin-transform-modules-commonjs',
    ],
  },
];

const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    '^.+\\.m?js$': babelEsmToCjs,
  },
  // Our sources import './x.js' (nodenext); under jest they are './x.ts'.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // ESM-only packages reached from tests: @nestjs/*, light-my-request's cookie, and
  // @fastify/static's tree (Swagger UI assets), compiled to CommonJS like @nestjs.
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|cookie|content-disposition|glob|minimatch|brace-expansion|balanced-match|minipass|path-scurry|lru-cache)/)',
  ],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/scripts/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFilesAfterEnv: [
        '<rootDir>/test/setup/e2e-timeout.ts',
        '<rootDir>/test/setup/fresh-database.ts',
        '<rootDir>/test/setup/event-schemas.ts',
      ],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
    {
      // Real processes (node dist/src/main.js) killed and restarted: slow, run in band.
      ...common,
      displayName: 'fault',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/fault/*.fault-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/fresh-database.ts'],
      globalSetup: '<rootDir>/test/setup/fault-global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
