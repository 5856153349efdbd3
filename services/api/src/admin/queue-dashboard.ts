import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { Verifier } from "@threadline/auth";
import type { ApiConfig } from "@threadline/config";
import { ERRORS } from "@threadline/protocol";
import { createRunsQueue, type LoginThrottle } from "@threadline/redis";
import { HttpError, httpError, sendError } from "@threadline/server";
import type { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { requireAdmin } from "./admin-session.js";
import { loginRoutes } from "./login-routes.js";

const QUEUE_DASHBOARD_PATH = "/admin/queues";

export interface QueueDashboardOptions {
  config: ApiConfig;
  /** The app's JWT verifier (built once in `buildApi`). */
  verifier: Verifier;
  /** The `runs` queue (owned by the caller); when absent the plugin opens one of its own, closed with the app. */
  queue?: Queue | undefined;
  /** Counts refused logins per client address (ADMIN_LOGIN_MAX_FAILURES per ADMIN_LOGIN_WINDOW_SECONDS). */
  loginThrottle: LoginThrottle;
  now?: () => number;
}

/**
 * bull-board at `/admin/queues`, for admin tokens only (Bearer header, or the cookie `POST /admin/login`
 * sets so a browser can use it). Read-only unless ADMIN_QUEUE_ACTIONS=1: bull-board hides the buttons and
 * every non-GET request is refused here as well.
 */
export async function queueDashboardPlugin(
  app: FastifyInstance,
  options: QueueDashboardOptions,
): Promise<void> {
  const { config, verifier } = options;
  const now = options.now ?? Date.now;
  const owned = options.queue
    ? undefined
    : createRunsQueue(config.redis, { name: "threadline-api-dashboard" });
  const queue = options.queue ?? (owned?.queue as Queue);
  if (owned) {
    // A Queue without an 'error' listener would crash the process when Redis drops.
    queue.on("error", (error) => app.log.warn({ err: error }, "queue dashboard: redis error"));
    app.addHook("onClose", async () => owned.close());
  }

  loginRoutes(app, verifier, options.loginThrottle, now);

  await app.register(
    async (dashboard) => {
      // Replies are sent here rather than thrown: bull-board's own error handler would reshape the body.
      dashboard.addHook("onRequest", async (request, reply) => {
        try {
          const { claims, from } = requireAdmin(verifier, request);
          request.log.debug({ sub: claims.sub, from }, "queue dashboard access");
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          const wantsPage = request.method === "GET" && request.headers.accept?.includes("text/html");
          if (error.statusCode === 401 && wantsPage)
            return reply.code(303).header("location", "/admin/login").send();
          return sendError(reply, error);
        }
        if (!config.adminQueueActions && request.method !== "GET" && request.method !== "HEAD") {
          return sendError(
            reply,
            httpError(
              ERRORS.QUEUE_ACTIONS_DISABLED,
              "the queue dashboard is read-only; set ADMIN_QUEUE_ACTIONS=1 on the API to allow retries, removals and pauses",
            ),
          );
        }
      });
      const serverAdapter = new FastifyAdapter();
      serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
      createBullBoard({
        queues: [new BullMQAdapter(queue, { readOnlyMode: !config.adminQueueActions })],
        serverAdapter,
        options: { uiConfig: { boardTitle: "Threadline queues" } },
      });
      await dashboard.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
