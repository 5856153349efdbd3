import websocket from "@fastify/websocket";
import type { Claims } from "@threadline/auth";
import { ERRORS, WS_CLOSE_CODES } from "@threadline/protocol";
import { httpError } from "@threadline/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { StreamAuth } from "./authorize-stream.js";
import type { EventsRouteOptions } from "./events-route.js";
import { retryAfter } from "./serve-thread-stream.js";
import { createStreamIds } from "./stream-ids.js";
import type { ThreadSubscriber } from "./types.js";
import { createWsConnection, type WsConnectionOptions } from "./ws-connection.js";

export interface WsRouteOptions extends Omit<EventsRouteOptions, "authorize" | "subscriber"> {
  auth: StreamAuth;
  /** MAX_THREADS_PER_CONNECTION */
  maxThreadsPerConnection: number;
  /** A subscriber for one client connection (subscriber-for-mode.ts); closed when it ends. */
  connectionSubscriber(): ThreadSubscriber;
  cancelRun: WsConnectionOptions["cancelRun"];
}

/** The largest client message: a `refresh` with a 16 KiB token fits with room to spare. */
export const WS_MAX_MESSAGE_BYTES = 64 * 1024;

const WsQuery = z.looseObject({ access_token: z.string().optional() });

/**
 * `GET /v1/ws`: many threads over one WebSocket (docs/ARCHITECTURE.md, "WebSocket"). The upgrade is
 * authenticated and admitted before it happens — a bad token is a plain 401, a full gateway a 503 —
 * so an open socket always has a subject, a slot, and one subscriber for all its threads.
 *
 * Plugin: @fastify/websocket (the Fastify organisation's own, on `ws`): it upgrades inside Fastify's
 * routing, so the upgrade request runs the same hooks, error shape and logging as every other route.
 */
export async function wsRoute(app: FastifyInstance, options: WsRouteOptions): Promise<void> {
  await app.register(websocket, {
    options: { maxPayload: WS_MAX_MESSAGE_BYTES },
    // The plugin's default closes sockets without a code; ours say 1001 (going away: resume elsewhere).
    preClose: async function closeSockets(this: FastifyInstance) {
      for (const client of this.websocketServer.clients) {
        client.close(WS_CLOSE_CODES.goingAway, ERRORS.SHUTTING_DOWN.code);
      }
      this.websocketServer.close();
    },
  });
  const nextConnectionId = createStreamIds("w");
  const admitted = new WeakMap<FastifyRequest, Claims>();

  app.get(
    "/v1/ws",
    {
      websocket: true,
      // Runs before the upgrade: what it throws is an HTTP answer and no socket is opened.
      preValidation: async (request) => {
        const query = WsQuery.safeParse(request.query ?? {});
        const queryToken = query.success ? query.data.access_token : undefined;
        const claims = options.auth.authenticate({
          authorization: request.headers.authorization,
          queryToken,
        });
        // A plain GET learns what the upgrade would meet (the SDK asks when a socket fails to open,
        // since browsers hide the upgrade's status): 401/429/503 as the upgrade, else 426.
        if (options.isClosing()) {
          throw httpError(ERRORS.SHUTTING_DOWN, undefined, undefined, retryAfter(options));
        }
        if (!request.ws) {
          options.admission.acquire(claims.sub).release();
          throw httpError(ERRORS.UPGRADE_REQUIRED, undefined, undefined, { upgrade: "websocket" });
        }
        const lease = options.admission.acquire(claims.sub);
        // The TCP socket outlives the upgrade: its close releases the slot however the connection ends.
        request.raw.socket.once("close", () => lease.release());
        admitted.set(request, claims);
      },
    },
    (socket, request) => {
      const claims = admitted.get(request);
      if (!claims) {
        socket.terminate();
        return;
      }
      const connectionId = nextConnectionId();
      const subscriber = options.connectionSubscriber();
      const connection = createWsConnection(socket, {
        ctx: options.ctx,
        auth: options.auth,
        subscriber,
        watchers: options.watchers,
        claims,
        connectionId,
        reqId: request.id,
        maxThreads: options.maxThreadsPerConnection,
        subscribeTimeoutMs: options.subscribeTimeoutMs,
        clockToleranceSeconds: options.clockToleranceSeconds,
        cancelRun: options.cancelRun,
      });
      options.streams.add(connection);
      options.ctx.metrics.openStreams.inc();
      connection.defer(() => {
        options.streams.delete(connection);
        options.ctx.metrics.openStreams.dec();
      });
      request.log.debug({ connectionId, sub: claims.sub }, "websocket opened");
    },
  );
}
