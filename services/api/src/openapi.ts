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
          "`GET /v1/events?threads=a,b,c` or the WebSocket `GET /v1/ws`). The gateway's streams take filters, " +
          "applied to replay and live alike and resumable with `Last-Event-ID`: `types=status,done`, `runId=`, " +
          "`agent=supervisor/researcher` (that agent and its sub-agents); and `snapshot=1`: a late joiner first " +
          "receives one `delta` of kind `snapshot` holding the run's state so far, then the live events " +
          "(WebSocket: the same fields in `subscribe`, `agent` as a path array, `snapshot: true`; the UI message " +
          "stream `GET /v1/threads/{threadId}/ui-stream` takes `snapshot=1` only). " +
          "Errors are `{ error: { code, message, details? } }`.",
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
