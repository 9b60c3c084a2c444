// Lets a plain `node` child process (spawned by a test) run this package's TypeScript sources:
// transpiles .ts on require (no type checking, like the jest transform) and resolves the `./x.js` imports of
// the generated Prisma client to their `.ts` files. Run with `-C @strata/source` so internal
// packages resolve to their sources too.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return resolveFilename.call(this, request, parent, ...rest);
  } catch (error) {
    if (request.startsWith('.') && request.endsWith('.js')) {
      return resolveFilename.call(this, request.slice(0, -3) + '.ts', parent, ...rest);
    }
    throw error;
  }
};

require.extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  module._compile(outputText, filename);
};
