// Shared jest settings for every Strata project: `module.exports = require('@strata/testing/jest-preset')`.
// - Internal packages resolve to their sources, so tests never need a prior build.
// - Relative `./x.js` specifiers (Prisma's generated client) resolve to the `.ts` files.
// - One PostgreSQL and one Redis per run through testcontainers when TEST_DATABASE_URL /
//   TEST_REDIS_URL are unset and a Docker engine is reachable (no-op otherwise).
const path = require('node:path');

const repositoryRoot = path.resolve(__dirname, '../../..');
const transform = path.join(__dirname, 'transform.js');
// ESM-only dependencies that must be transpiled to CommonJS for jest.
const ESM_ONLY_DEPENDENCIES = ['jose', 'content-disposition'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/src/**/*.int-spec.ts',
    '<rootDir>/test/**/*.spec.ts',
  ],
  transform: {
    '^.+\\.ts$': transform,
    [`/node_modules/(${ESM_ONLY_DEPENDENCIES.join('|')})/.+\\.js$`]: transform,
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY_DEPENDENCIES.join('|')})/)`],
  moduleNameMapper: {
    '^@strata/([a-z-]+)$': path.join(repositoryRoot, 'packages/$1/src/index.ts'),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  globalSetup: path.join(__dirname, '../src/jest/global-setup.ts'),
  globalTeardown: path.join(__dirname, '../src/jest/global-teardown.ts'),
  testTimeout: 30000,
};
