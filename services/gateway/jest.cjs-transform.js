// A minimal jest transformer: TypeScript's transpileModule with CommonJS output, for the files that
// the shared ts-jest transform (module nodenext) leaves unloadable under jest's CommonJS runtime:
// jose's ESM-only build.
// A second ts-jest entry with other options does not work: ts-jest shares one config per project.
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2023,
  esModuleInterop: true,
  allowJs: true,
  sourceMap: false,
  inlineSourceMap: true,
  inlineSources: true,
};

module.exports = {
  process(sourceText, sourcePath) {
    const { outputText } = ts.transpileModule(sourceText, { fileName: sourcePath, compilerOptions });
    return { code: outputText };
  },
  getCacheKey(sourceText, sourcePath) {
    return require('node:crypto')
      .createHash('sha256')
      .update(`${ts.version}\0${sourcePath}\0${sourceText}`)
      .digest('hex');
  },
};
