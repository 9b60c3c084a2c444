// Jest `globalTeardown`: stops what global-setup.ts started. Wire it with
//   globalTeardown: require.resolve('@strata/testing/jest-global-teardown')
import { stopTestServersForRun } from './run-servers';

export default async function globalTeardown(): Promise<void> {
  await stopTestServersForRun();
}
