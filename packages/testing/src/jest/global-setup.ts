// Jest `globalSetup`: when no server URL is exported and a Docker engine is reachable, start ONE
// PostgreSQL and ONE Redis container for the whole jest run and export their URLs; the workers,
// forked afterwards, inherit them. Wire it with
//   globalSetup: require.resolve('@strata/testing/jest-global-setup')
// It never fails the run by itself: without URLs and without Docker it does nothing, and the
// suites that need a server get the explanatory TestServersUnavailableError.
import { startTestServersForRun } from './run-servers';

export default async function globalSetup(): Promise<void> {
  await startTestServersForRun();
}
