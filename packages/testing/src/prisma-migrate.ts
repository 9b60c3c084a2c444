import { existsSync } from 'node:fs';
import path from 'node:path';
import { migrateDeploy } from '@strata/prisma-offline';

export interface ApplyMigrationsOptions {
  /** Folder holding the prisma.config.ts that names the schema and the migrations. */
  readonly cwd: string;
  readonly databaseUrl: string;
}

/**
 * Runs the real `prisma migrate deploy` (the stock CLI through @strata/prisma-offline, so no native
 * engine is needed) against databaseUrl; rejects with the CLI's output when it fails.
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<void> {
  if (!existsSync(path.join(options.cwd, 'prisma.config.ts'))) {
    throw new Error(
      `@strata/testing: no prisma.config.ts in ${options.cwd} (pass the service folder that holds it)`,
    );
  }
  try {
    await migrateDeploy({ cwd: options.cwd, databaseUrl: options.databaseUrl });
  } catch (error) {
    throw new Error(
      `@strata/testing: prisma migrate deploy failed in ${options.cwd}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
