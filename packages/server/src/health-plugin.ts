import { ERRORS } from "@threadline/protocol";
import type { FastifyInstance, RouteShorthandOptions } from "fastify";
import fp from "fastify-plugin";
import type { Registry } from "prom-client";
import { HttpError, httpError, sendError } from "./errors.js";

export interface HealthPluginOptions {
  /**
   * Rejects when the service cannot do its job (Redis unreachable, shutting down). An `HttpError`
   * keeps its status and code; any other error answers 503 `NOT_READY` with its message.
   */
  checkReady(): Promise<void>;
  /** Serves `GET /metrics` (Prometheus text) from this registry when given. */
  registry?: Registry;
  /** Extra route options (an OpenAPI schema, say) for each route. */
  routes?: {
    healthz?: RouteShorthandOptions;
    readyz?: RouteShorthandOptions;
    metrics?: RouteShorthandOptions;
  };
}

/**
 * The probes every service answers the same way: `/healthz` (the process is up), `/readyz` (it can
 * do its job), `/metrics`. Probes run every few seconds, so only failures are worth a log line.
 */
export const healthPlugin = fp(
  async (app: FastifyInstance, options: HealthPluginOptions) => {
    app.get("/healthz", { logLevel: "warn", ...options.routes?.healthz }, async () => ({ status: "ok" }));
    app.get("/readyz", { logLevel: "warn", ...options.routes?.readyz }, async (_request, reply) => {
      try {
        await options.checkReady();
      } catch (error) {
        return sendError(
          reply,
          error instanceof HttpError ? error : httpError(ERRORS.NOT_READY, (error as Error).message),
        );
      }
      return { status: "ok" };
    });
    const registry = options.registry;
    if (registry) {
      app.get("/metrics", { logLevel: "warn", ...options.routes?.metrics }, async (_request, reply) => {
        reply.header("content-type", registry.contentType);
        return registry.metrics();
      });
    }
  },
  { name: "threadline-health", fastify: "5.x" },
);

/** Resolves when Redis answers PING within `timeoutMs`; rejects with why it did not. */
export async function pingWithin(redis: { ping(): Promise<unknown> }, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
