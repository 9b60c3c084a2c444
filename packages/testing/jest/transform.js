// The one jest transform of the repo: TypeScript's transpileModule to CommonJS, without type
// checking (the `typecheck` target does that once, not once per test file).
// CommonJS output matters for two kinds of files that jest's CommonJS runtime cannot load as-is:
// Prisma's generated client (it loads its query compiler with a dynamic `import()`) and ESM-only
// dependencies (jose 6, content-disposition 3), which are routed here by the preset.
const { createHash } = require('node:crypto');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2023,
  esModuleInterop: true,
  allowJs: true,
  inlineSourceMap: true,
  inlineSources: true,
};

module.exports = {
  process(sourceText, sourcePath) {
    const { outputText } = ts.transpileModule(sourceText, {
      fileName: sourcePath,
      compilerOptions,
    });
    return { code: outputText };
  },
  getCacheKey(sourceText, sourcePath) {
    return createHash('sha256').update(`${ts.version}\0${sourcePath}\0${sourceText}`).digest('hex');
  },
};
