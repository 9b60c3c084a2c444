export {
  GRPC_DEFAULTS,
  ERROR_REASON_METADATA_KEY,
  ERROR_FIELD_METADATA_KEY,
  DEADLINE_REQUIRED_REASON,
} from './defaults';
export {
  DomainError,
  type DomainErrorOptions,
  invalidArgument,
  notFound,
  permissionDenied,
  alreadyExists,
  aborted,
  failedPrecondition,
  unauthenticated,
  isServiceError,
  grpcErrorReason,
  grpcErrorField,
  statusName,
} from './domain-error';
export {
  unary,
  INTERNAL_ERROR_MESSAGE,
  type CallContext,
  type UnaryHandler,
  type UnaryOptions,
} from './unary.handler';
export { currentInboundCall, type InboundCall } from './call-scope';
export {
  createGrpcServer,
  serverChannelOptions,
  type GrpcServer,
  type GrpcServerOptions,
  type ServerKeepaliveOptions,
  type ShutdownOptions,
} from './grpc-server';
export {
  createServerLifecycle,
  type ServerLifecycle,
  type ServerLifecycleOptions,
} from './server-lifecycle';
export { HealthReporter, ServingStatus, type HealthOptions } from './health.service';
export {
  createGrpcClient,
  callUnary,
  clientChannelOptions,
  clientServiceConfig,
  type GrpcClient,
  type GrpcClientConstructor,
  type GrpcClientOptions,
  type GrpcChannelConfig,
  type PromiseClient,
  type UnaryMethodTypes,
  type RetryPolicyOptions,
  type RetryThrottlingOptions,
  type ClientKeepaliveOptions,
  type UnaryCallOptions,
  type UnaryClientMethod,
  type UnaryCallback,
} from './grpc-client';
export {
  requestContextInterceptor,
  requestContextFromMetadata,
} from './interceptors/request-context.interceptor';
export {
  loggingInterceptor,
  type LoggingInterceptorOptions,
} from './interceptors/logging.interceptor';
export { metricsInterceptor } from './interceptors/metrics.interceptor';
export {
  deadlineRequiredInterceptor,
  DEADLINE_REQUIRED_MESSAGE,
  type DeadlineRequiredOptions,
} from './interceptors/deadline-required.interceptor';
export { interceptOutcome, type CallOutcome, type OutcomeHooks } from './interceptors/call-outcome';
export {
  createMetricsRegistry,
  createServerMetrics,
  startMetricsServer,
  type MetricsRegistryOptions,
  type MetricsServer,
  type MetricsServerOptions,
  type ServerMetrics,
} from './metrics';
