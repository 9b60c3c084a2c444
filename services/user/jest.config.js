// The shared preset, plus what this service's generated and third-party code needs under jest:
// - Prisma's generated client imports its siblings as `./enums.js` (right for the compiled
//   output); under ts-jest the sources are `.ts`, so relative `.js` specifiers are mapped back.
// - The generated client loads its query compiler with `import()`, which jest's CommonJS runtime
//   refuses without --experimental-vm-modules, and jose 6 ships ESM only (Node 20.19+ loads it
//   with require(esm) at run time; jest cannot). Both go through a CommonJS transpile instead.
const path = require('node:path');
const preset = require('../../jest.preset.js');

const commonJsTransform = path.join(__dirname, 'jest.cjs-transform.js');

module.exports = {
  ...preset,
  moduleNameMapper: {
    ...preset.moduleNameMapper,
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '/src/generated/.+\\.ts$': commonJsTransform,
    ...preset.transform,
    '/node_modules/jose/.+\\.js$': commonJsTransform,
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // Without TEST_DATABASE_URL / TEST_REDIS_URL but with Docker: one PostgreSQL and one Redis for the run.
  globalSetup: require.resolve('@strata/testing/jest-global-setup'),
  globalTeardown: require.resolve('@strata/testing/jest-global-teardown'),
};
