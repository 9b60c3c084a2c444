// `npm run bench -- --quick` under jest (test/quick.e2e-spec.ts): a real cluster, so minutes, not
// seconds. Run by `npm run bench:quick` at the root, which .ci/run calls after `npm test`.
const preset = require('@strata/testing/jest-preset');

/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 600_000,
};
