// The shared preset, plus what Prisma's generated client needs under jest: it imports its
// siblings as `./enums.js` (right for compiled output), so relative `.js` specifiers map back to
// the `.ts` sources, and it loads its query compiler with `import()`, which jest's CommonJS runtime
// refuses, so the generated folder goes through a plain CommonJS transpile (same as services/user).
const path = require('node:path');
const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  moduleNameMapper: {
    ...preset.moduleNameMapper,
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '/src/generated/.+\\.ts$': path.join(__dirname, 'jest.cjs-transform.js'),
    ...preset.transform,
  },
};
