// `prisma generate` through the wrapper: no database, no DATABASE_URL, no engine download.
import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { runPrismaCli } from './prisma-cli';
import {
  copyFixtureProject,
  nativeEngineFiles,
  NO_DOWNLOAD_ENV,
  removeProject,
} from './testing/fixture-project';

jest.setTimeout(120_000);

describe('prisma generate through strata-prisma', () => {
  let project: string;

  beforeAll(() => {
    project = copyFixtureProject();
  });

  afterAll(() => {
    removeProject(project);
  });

  it('generates the prisma-client output without DATABASE_URL and without downloading an engine', async () => {
    const nativeEnginesBefore = nativeEngineFiles();

    const result = await runPrismaCli({
      args: ['generate'],
      cwd: project,
      env: { ...NO_DOWNLOAD_ENV, DATABASE_URL: undefined },
    });

    expect(result).toMatchObject({ code: 0 });
    // The CLI colours its output when it thinks a terminal or CI wants colour (CI=true does).
    const plainOutput = stripVTControlCharacters(result.stdout);
    expect(plainOutput).toContain('Generated Prisma Client (7.10.0)');
    const client = fs.readFileSync(path.join(project, 'generated', 'prisma', 'client.ts'), 'utf8');
    expect(client).toContain('export const PrismaClient');
    expect(
      fs.existsSync(path.join(project, 'generated', 'prisma', 'models', 'LedgerEntry.ts')),
    ).toBe(true);
    expect(nativeEngineFiles()).toEqual(nativeEnginesBefore);
  });
});
