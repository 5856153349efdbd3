import type { Server } from "node:http";
import Fastify, { type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { installErrorHandling } from "./errors.js";
import { closeStalledConnections } from "./stalled-connections.js";

export interface ServiceAppOptions {
  /** The service's logger; none means a silent app (tests). */
  log?: Logger;
  /** `REQUEST_TIMEOUT_MS`: a connection must send a complete request within this bound. */
  requestTimeoutMs: number;
  /** Fastify options of this service (body limit, header size, router limits, …). */
  fastify?: Omit<FastifyHttpOptions<Server>, "logger" | "loggerInstance">;
}

/**
 * The Fastify instance every service starts from: its logger, the JSON error shape on every error
 * and unknown route, and stalled connections closed. Routes and plugins are the service's own.
 */
export function createServiceApp(options: ServiceAppOptions): FastifyInstance {
  const app = Fastify({
    ...(options.log ? { loggerInstance: options.log as FastifyBaseLogger } : { logger: false }),
    ...options.fastify,
  }) as unknown as FastifyInstance;
  installErrorHandling(app);
  closeStalledConnections(app.server, {
    requestTimeoutMs: options.requestTimeoutMs,
    onClose: (reason) =>
      app.log.debug({ reason }, "closed a connection that sent no complete request in time"),
  });
  return app;
}
