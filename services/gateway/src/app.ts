import cors from "@fastify/cors";
import { createMergedLog, createOwnerLookup } from "@threadline/archive";
import { createVerifier } from "@threadline/auth";
import type { GatewayConfig } from "@threadline/config";
import { STREAM_PROTOCOL_HEADER } from "@threadline/protocol";
import { createThreadMeta, createThreadWatchers } from "@threadline/redis";
import { contractFrameworkOptions, corsOrigin, createServiceApp } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { createAdmission } from "./admission.js";
import { createStreamAuth, createStreamAuthorizer } from "./authorize-stream.js";
import { eventsRoute } from "./events-route.js";
import { createFrameOnce } from "./frame-once.js";
import { healthRoutes } from "./health-routes.js";
import { createJunkReporter } from "./junk-reporter.js";
import { createGatewayMetrics } from "./metrics.js";
import { multiplexRoute } from "./multiplex-route.js";
import { createParseOnce } from "./parse-once.js";
import type { SseStream, StreamContext } from "./sse-stream.js";
import { createConnectionSubscriberFactory, createSubscriberForMode } from "./subscriber-for-mode.js";
import type { GatewayDeps } from "./types.js";
import { uiStreamRoute } from "./ui-stream-route.js";
import { createWatcherRegistry } from "./watcher-registry.js";
import { createWsCancel } from "./ws-cancel.js";
import { wsRoute } from "./ws-route.js";

const RETRY_AFTER_SECONDS = 5;
/** Room for a 16 KiB token in the URL or header, so an oversized token gets our 401 rather than Node's 431. */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Builds the gateway (SSE and WebSocket): no env, no listen. `deps.redis` stays the caller's; the subscriber
 * connections the gateway opens are closed by `app.close()`, after every stream was ended in
 * `preClose` (an open SSE response would otherwise keep `close()` waiting forever).
 */
export async function buildGateway(config: GatewayConfig, deps: GatewayDeps): Promise<FastifyInstance> {
  const app = createServiceApp({
    log: deps.log,
    requestTimeoutMs: config.requestTimeoutMs,
    fastify: {
      http: { maxHeaderSize: MAX_HEADER_BYTES },
      ...contractFrameworkOptions(),
      return503OnClosing: true,
    },
  });
  await app.register(cors, {
    origin: corsOrigin(config.corsOrigins),
    methods: ["GET", "HEAD", "OPTIONS"],
    allowedHeaders: ["authorization", "last-event-id", "cache-control", "content-type"],
    exposedHeaders: [STREAM_PROTOCOL_HEADER],
    maxAge: 600,
  });

  const metrics = createGatewayMetrics(deps.registry);
  const verifier = createVerifier(config.jwt);
  const subscriber = createSubscriberForMode(config.subscriberMode, deps);
  const watchers = createWatcherRegistry(createThreadWatchers(deps.redis), {
    ttlMs: config.watcherTtlMs,
    log: deps.log,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const streams = new Set<Pick<SseStream, "end">>();
  let closing = false;
  const ctx: StreamContext = {
    redis: deps.redis,
    readPage: createMergedLog(deps.redis, deps.archive),
    log: deps.log,
    metrics,
    junk: createJunkReporter(deps.log, metrics),
    retryMs: config.retryMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    maxBufferBytes: config.maxBufferBytes,
    maxEventBytes: config.maxEventBytes,
    now: deps.now ?? Date.now,
    parseMessage: createParseOnce(),
    frameEvent: createFrameOnce(),
  };

  await app.register(healthRoutes, { redis: deps.redis, registry: metrics.registry, pingTimeoutMs: 1_000 });
  const auth = createStreamAuth(
    verifier,
    createOwnerLookup(createThreadMeta(deps.redis), deps.archive),
    metrics,
  );
  const streamRoutes = {
    ctx,
    subscriber,
    authorize: createStreamAuthorizer(auth),
    admission: createAdmission({
      maxConnections: config.maxConnections,
      maxStreamsPerSubject: config.maxStreamsPerSubject,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }),
    watchers,
    streams,
    isClosing: () => closing,
    clockToleranceSeconds: verifier.clockToleranceSeconds,
    subscribeTimeoutMs: config.subscribeTimeoutMs,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  };
  await app.register(eventsRoute, streamRoutes);
  await app.register(uiStreamRoute, streamRoutes);
  const connectionSubscriber = createConnectionSubscriberFactory(config.subscriberMode, deps, subscriber);
  await app.register(multiplexRoute, {
    ...streamRoutes,
    maxThreadsPerConnection: config.maxThreadsPerConnection,
    connectionSubscriber,
  });
  const wsCancel = createWsCancel(config, deps.redis, auth);
  await app.register(wsRoute, {
    ...streamRoutes,
    auth,
    maxThreadsPerConnection: config.maxThreadsPerConnection,
    connectionSubscriber,
    cancelRun: wsCancel.cancelRun,
  });

  app.addHook("preClose", async () => {
    closing = true;
    const open = streams.size;
    for (const stream of [...streams]) stream.end("shutdown");
    if (open > 0)
      deps.log.info({ streams: open }, "ended open streams for shutdown; clients resume elsewhere");
  });
  app.addHook("onClose", async () => {
    await watchers.close();
    await subscriber.close();
    await wsCancel.close();
  });
  return app;
}
