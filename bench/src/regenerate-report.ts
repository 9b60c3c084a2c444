// Rewrites docs/benchmarks.md and docs/benchmarks.svg from a results file, without running
// anything: for after editing bench/FINDINGS.md (the hand-written part of that page).
//
//   npm run report -w @strata/bench -- bench/results/2026-11-27-vm.json
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type BenchResults, writeReport } from './report';

const ROOT = resolve(__dirname, '../..');

async function main(): Promise<void> {
  const [resultsArgument] = process.argv.slice(2);
  if (resultsArgument === undefined) {
    throw new Error('usage: npm run report -w @strata/bench -- <bench/results/…json>');
  }
  const resultsFile = resolve(process.env.INIT_CWD ?? process.cwd(), resultsArgument);
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResults;
  if (results.mode !== 'full') {
    throw new Error(`${resultsFile} is a ${results.mode} run; the docs describe full runs only`);
  }
  const written = await writeReport(results, {
    outDir: dirname(resultsFile),
    writeDocs: true,
    root: ROOT,
  });
  process.stdout.write(`docs/benchmarks.md and .svg rewritten from ${written}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
