// The shared preset, plus what the Prisma test client (src/generated/prisma, generated from test/prisma)
// needs under jest:
// - it loads its query compiler with `await import(...)`; compiled for `module: nodenext`,
//   TypeScript keeps that import() and jest's CommonJS runtime rejects it ("A dynamic import
//   callback was invoked without --experimental-vm-modules"), so tests are transpiled as
//   CommonJS, which turns it into require() (the build, tsc with nodenext, is unaffected);
// - it imports its own files as `./x.js`, which must resolve to the generated `.ts` files.
const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'bundler' } }],
  },
  moduleNameMapper: {
    ...preset.moduleNameMapper,
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};
