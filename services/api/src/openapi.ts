import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";

/** Registers @fastify/swagger (before the routes, which it collects) and serves `GET /openapi.json`. */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Threadline API",
        version,
        description:
          "Start agent runs, read their status and a thread's replay log. Stream live events from the gateway " +
          "(`GET /v1/threads/{threadId}/events`, Server-Sent Events; many threads on one connection: " +
          "`GET /v1/events?threads=a,b,c` or the WebSocket `GET /v1/ws`). Errors are `{ error: { code, message, details? } }`.",
      },
      components: {
        securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      tags: [
        { name: "runs", description: "Runs and thread history" },
        { name: "ops", description: "Health and readiness" },
      ],
    },
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
