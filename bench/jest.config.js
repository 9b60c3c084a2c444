// The shared preset; the one suite runs the whole quick benchmark (a real cluster), so it gets
// minutes, not seconds.
const preset = require('@strata/testing/jest-preset');

/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 600_000,
};
