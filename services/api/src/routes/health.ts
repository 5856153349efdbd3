import { ERRORS, errorBody } from "@threadline/protocol";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { routeSchema } from "../route-schema.js";
import type { RouteContext } from "./route-context.js";

const Health = z.object({ status: z.literal("ok") });
const READY_TIMEOUT_MS = 1_000;

/** `/healthz`: the process answers. `/readyz`: Redis answers a PING within a second. */
export function healthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    "/healthz",
    {
      logLevel: "warn",
      schema: routeSchema({ summary: "Liveness", tags: ["ops"], auth: false, responses: { 200: Health } }),
    },
    async () => ({
      status: "ok",
    }),
  );
  app.get(
    "/readyz",
    {
      // Probes run every few seconds: only failures are worth a log line.
      logLevel: "warn",
      schema: routeSchema({
        summary: "Readiness: Redis reachable",
        tags: ["ops"],
        auth: false,
        responses: { 200: Health },
        errors: [503],
      }),
    },
    async (_request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no PONG within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([ctx.redis.ping(), timeout]);
        return { status: "ok" };
      } catch (error) {
        return reply
          .code(ERRORS.NOT_READY.status)
          .send(errorBody(ERRORS.NOT_READY, `redis unreachable: ${(error as Error).message}`));
      } finally {
        clearTimeout(timer);
      }
    },
  );
}
