// Public entry of @strata/contracts. Everything under ./generated is produced from /proto by
// `npm run codegen -w @strata/contracts` and must never be edited by hand; the few hand-written
// helpers beside it (error metadata, real-time envelope) only encode conventions the protos state.

// One namespace per proto package: `userV1.GetUserRequest`, `paymentV1.PaymentStatus.SETTLED`…
export * as commonV1 from './generated/common/v1/common';
export * as userV1 from './generated/user/v1/user';
export * as paymentV1 from './generated/payment/v1/payment';
export * as contentV1 from './generated/content/v1/content';
export * as eventsV1 from './generated/events/v1/events';
export * as healthV1 from './generated/grpc/health/v1/health';

// Service definitions (for `server.addService`), client constructors and server interfaces.
export {
  UserServiceService,
  UserServiceClient,
  type UserServiceServer,
} from './generated/user/v1/user';
export {
  PaymentServiceService,
  PaymentServiceClient,
  type PaymentServiceServer,
} from './generated/payment/v1/payment';
export {
  ContentServiceService,
  ContentServiceClient,
  type ContentServiceServer,
} from './generated/content/v1/content';
export {
  HealthService,
  HealthClient,
  type HealthServer,
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
} from './generated/grpc/health/v1/health';

// Shared messages used by every service.
export {
  Money,
  Actor,
  Role,
  roleFromJSON,
  roleToJSON,
  ErrorReason,
  errorReasonFromJSON,
  errorReasonToJSON,
} from './generated/common/v1/common';

export {
  ERROR_REASON_METADATA_KEY,
  ERROR_FIELD_METADATA_KEY,
  type ErrorDetail,
  errorDetailToMetadata,
  errorDetailFromMetadata,
} from './error-metadata';
export {
  type RealtimeEvent,
  type RealtimeEventDataMap,
  type RealtimeEventType,
  REALTIME_EVENT_TYPES,
  realtimeEventChannel,
  serializeRealtimeEvent,
  parseRealtimeEvent,
} from './realtime-event';
