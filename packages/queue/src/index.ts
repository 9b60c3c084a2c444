export {
  CONTEXT_KEY,
  DEFAULT_JOB_DEFAULTS,
  GROUP_KEY,
  defineJob,
  type JobDefaults,
  type JobDefinition,
  type JobGrouping,
  type JobSpec,
  type PayloadOf,
  type PayloadSchema,
  type StandardSchemaResult,
  type StandardSchemaV1,
} from './job-definition';
export { InvalidJobPayloadError, PermanentJobError, QueueUnavailableError } from './errors';
export {
  producerConnectionOptions,
  workerConnectionOptions,
  type QueueConnectionOptions,
  type QueueConnectionSettings,
} from './connection-options';
export {
  captureContext,
  fromJobData,
  toJobData,
  type JobData,
  type SerializedContext,
} from './job-context';
export {
  groupItem,
  groupJobData,
  groupJobId,
  type GroupItem,
  type GroupJobData,
} from './job-group';
export {
  createProducer,
  jobOptionsFor,
  type AddJobOptions,
  type Producer,
  type ProducerOptions,
  type RawJob,
} from './producer';
export {
  createWorker,
  sandboxedProcessor,
  type CreateWorkerOptions,
  type JobAttemptFinished,
  type JobProcessor,
  type ManagedWorker,
  type ProcessorContext,
  type SandboxedProcessorFile,
  type WatchdogOptions,
} from './job-worker';
export {
  QUEUE_METRIC_STATES,
  registerQueueMetrics,
  type QueueMetrics,
  type QueueMetricsOptions,
} from './queue-metrics';
export {
  OUTBOX_PRISMA_MODEL,
  enqueueInTransaction,
  type EnqueueInTransactionOptions,
  type OutboxDatabase,
  type OutboxTransactionClient,
} from './outbox';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox.relay';
export { poolOutboxDatabase, type OutboxPool, type OutboxPoolClient } from './outbox.pool';
