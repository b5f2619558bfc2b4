// NestJS 12 ships ESM only and jest on Node 20 cannot require() ESM, so the
// @nestjs packages are compiled to CommonJS by babel-jest; our own .ts by ts-jest.
const path = require('node:path');

const babelEsmToCjs = [
  'babel-jest',
  {
    babelrc: false,
    configFile: false,
    plugins: [
      path.join(__dirname, 'test/utils/babel-rename-require.cjs'),
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
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }],
    '^.+\\.m?js$': babelEsmToCjs,
  },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|cookie)/)'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/utils/global-setup.ts',
    },
  ],
};
