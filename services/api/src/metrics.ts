import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics on a registry of this app's own (tests build several apps in one process):
 * `threadline_api_http_requests_total{route,method,status}`, `threadline_api_http_request_duration_seconds`
 * and the default process metrics under `threadline_api_` (served at `/metrics` by the health plugin).
 */
export function installMetrics(app: FastifyInstance): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "threadline_api_" });
  const labelNames = ["route", "method", "status"] as const;
  const requests = new Counter({
    name: "threadline_api_http_requests_total",
    help: "HTTP requests by route template, method and status code",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "threadline_api_http_request_duration_seconds",
    help: "HTTP request latency by route template, method and status code",
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    // Route templates, never raw URLs: label cardinality stays bounded.
    const labels = {
      route: request.routeOptions.url ?? "unmatched",
      method: request.method,
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });
  return registry;
}
