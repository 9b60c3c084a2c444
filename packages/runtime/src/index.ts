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
