import { createMetricsRegistry } from '@strata/grpc';
import { type FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface HttpMetrics {
  readonly registry: Registry;
}

/**
 * Prometheus metrics of the gateway: process metrics plus one histogram and one counter per
 * route template (never the raw URL, whose ids would explode the label set).
 */
export function installHttpMetrics(app: FastifyInstance): HttpMetrics {
  const registry = createMetricsRegistry();
  const labelNames = ['method', 'route', 'status_code'] as const;
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const total = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route template and status',
    labelNames,
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    duration.observe(labels, reply.elapsedTime / 1000);
    total.inc(labels);
    done();
  });
  return { registry };
}
