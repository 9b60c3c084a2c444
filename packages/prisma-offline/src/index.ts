// @strata/prisma-offline: the stock Prisma CLI, run over the WebAssembly schema engine (no native
// binary, no network). The executables live in bin/ as plain CommonJS so they run without a build.
export {
  migrateDeploy,
  PrismaCliError,
  prismaCliPath,
  runPrismaCli,
  runPrismaCliOrThrow,
  schemaEngineBridgePath,
  type MigrateDeployOptions,
  type PrismaCliResult,
  type RunPrismaCliOptions,
} from './prisma-cli';
