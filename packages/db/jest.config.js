const preset = require('../../jest.preset.js');

// Prisma's generated client (prisma-client generator, moduleFormat "cjs") loads its query
// compiler with `await import(...)`. Compiled for `module: nodenext`, TypeScript keeps that
// import() as is, and Jest's CommonJS runtime rejects it ("A dynamic import callback was invoked
// without --experimental-vm-modules"). Transpiling the tests as CommonJS turns it into require().
// The production build (tsc, nodenext) is unaffected: Node runs import() from CommonJS natively.
// Every project that runs a generated Prisma client under Jest needs this override.
module.exports = {
  ...preset,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'bundler' } }],
  },
};
