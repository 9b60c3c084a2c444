import { type ServerInterceptor } from '@grpc/grpc-js';
import { splitMethodPath } from '../call-scope';
import { statusName } from '../domain-error';
import { type ServerMetrics } from '../metrics';
import { interceptOutcome } from './call-outcome';

/**
 * Records every call in `grpc_server_handling_seconds` and `grpc_server_handled_total`, labelled
 * by `grpc_service`, `grpc_method` and `grpc_code` (the code's name, as go-grpc-prometheus does,
 * so dashboards written for it work).
 */
export function metricsInterceptor(metrics: ServerMetrics): ServerInterceptor {
  return (methodDefinition, call) => {
    const { service, method } = splitMethodPath(methodDefinition.path);
    return interceptOutcome(call, {
      onEnd({ code, durationMs }) {
        const labels = { grpc_service: service, grpc_method: method, grpc_code: statusName(code) };
        metrics.handlingSeconds.observe(labels, durationMs / 1000);
        metrics.handledTotal.inc(labels);
      },
    });
  };
}
