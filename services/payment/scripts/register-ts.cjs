// Runs this repository's TypeScript sources directly in Node (test fixtures, the benchmark): each
// `.ts` file is transpiled to CommonJS on require (no type check: that is the typecheck target's
// job), and relative `./x.js` specifiers (Prisma's generated client) fall back to `./x.ts`.
// Start Node with `--conditions=@strata/source -r <this file>` so @strata/* packages resolve to
// their sources, as in jest.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2023,
  esModuleInterop: true,
  inlineSourceMap: true,
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { fileName: filename, compilerOptions });
  module._compile(outputText, filename);
};

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveWithTsFallback(request, parent, ...rest) {
  try {
    return resolveFilename.call(this, request, parent, ...rest);
  } catch (error) {
    if (request.startsWith('.') && request.endsWith('.js')) {
      return resolveFilename.call(this, `${request.slice(0, -3)}.ts`, parent, ...rest);
    }
    throw error;
  }
};
