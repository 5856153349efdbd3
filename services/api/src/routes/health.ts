import { ERRORS } from "@threadline/protocol";
import { healthPlugin, httpError, pingWithin } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { z } from "zod";
import { routeSchema } from "../route-schema.js";
import type { RouteContext } from "./route-context.js";

const Health = z.object({ status: z.literal("ok") });
const READY_TIMEOUT_MS = 1_000;

/** `/healthz`: the process answers. `/readyz`: Redis answers a PING within a second. `/metrics` when on. */
export async function healthRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  registry?: Registry,
): Promise<void> {
  await app.register(healthPlugin, {
    checkReady: async () => {
      try {
        await pingWithin(ctx.redis, READY_TIMEOUT_MS);
      } catch (error) {
        throw httpError(ERRORS.NOT_READY, `redis unreachable: ${(error as Error).message}`);
      }
    },
    ...(registry ? { registry } : {}),
    routes: {
      healthz: {
        schema: routeSchema({ summary: "Liveness", tags: ["ops"], auth: false, responses: { 200: Health } }),
      },
      readyz: {
        schema: routeSchema({
          summary: "Readiness: Redis reachable",
          tags: ["ops"],
          auth: false,
          responses: { 200: Health },
          errors: [503],
        }),
      },
      metrics: { schema: { hide: true } },
    },
  });
}
