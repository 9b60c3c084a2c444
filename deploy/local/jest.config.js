// The shared preset, with the delivery tests' own layout: static checks of the delivery files
// (`test/**/*.spec.ts`, seconds) and the end-to-end run of the one-machine cluster through Nginx
// (`test/**/*.e2e-spec.ts`, which starts real processes and so gets minutes, not seconds).
const preset = require('@strata/testing/jest-preset');

/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 60_000,
};
