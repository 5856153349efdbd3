import type { WorkerConfig } from "@threadline/config";
import { createServiceApp, healthPlugin } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

/**
 * The worker's only HTTP surface, on the same chassis as the API and the gateway: `/healthz`,
 * `/readyz` (Redis answers and the worker takes jobs), `/metrics`.
 */
export async function buildHealthApp(
  config: WorkerConfig,
  options: { log: Logger; registry: Registry; checkReady(): Promise<void> },
): Promise<FastifyInstance> {
  const app = createServiceApp({ log: options.log, requestTimeoutMs: config.requestTimeoutMs });
  await app.register(healthPlugin, { registry: options.registry, checkReady: options.checkReady });
  return app;
}
