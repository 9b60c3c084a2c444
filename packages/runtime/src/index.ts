// @strata/runtime: the lifecycle every process entry point shares (start, stop once on signals or
// crashes, flush the log, exit with a meaningful code).
export {
  DEFAULT_STOP_SIGNALS,
  EXIT_CODE,
  runProcess,
  type ProcessEvents,
  type ProcessLogger,
  type RunProcessOptions,
  type Runnable,
} from './run-process';
// Group commit: calls made while a write is in flight are written together as the next batch
// (the payment worker's settlements, the gateway's rate-limit counters).
export { groupCommit, type BatchWriter, type GroupCommitOptions } from './group-commit';
