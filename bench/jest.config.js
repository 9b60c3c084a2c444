// Unit tests of the harness (fast, no cluster). The quick benchmark run itself is the `e2e`
// target (jest.e2e.config.js): CI runs it as its own step, outside the README's test command,
// as issue 9 asks ("not part of the test command").
const preset = require('@strata/testing/jest-preset');

/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
};
