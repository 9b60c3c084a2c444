export { createLogger, type Logger, type LoggerOptions } from './create-logger';
export {
  REQUEST_ID_HEADER,
  TRACEPARENT_HEADER,
  contextFrom,
  currentContext,
  isValidRequestId,
  isValidTraceparent,
  newRequestId,
  outgoingContextHeaders,
  runWithContext,
  type RequestContext,
} from './request-context';
export { REDACTED, isSensitiveKey, redactCardNumbers, redactValue } from './redaction';
export { captureLogs, type CapturedLogs } from './capture-logs';
