import cors from "@fastify/cors";
import type { AgentRegistry } from "@threadline/agents";
import {
  type ArchiveSql,
  createArchiveReader,
  createMergedLog,
  createOwnerLookup,
} from "@threadline/archive";
import { createVerifier } from "@threadline/auth";
import type { ApiConfig } from "@threadline/config";
import {
  createArchiveFeed,
  createEventPublisher,
  createExternalRuns,
  createLoginThrottle,
  createRunLifecycle,
  createRunRecords,
  createThreadMeta,
  type RedisClient,
  type RunsQueue,
  renewIntervalMs,
  withArchiveFeed,
} from "@threadline/redis";
import { contractFrameworkOptions, corsOrigin, createServiceApp } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { queueDashboardPlugin } from "./admin/queue-dashboard.js";
import { createAuthenticate } from "./authenticate.js";
import { consolePlugin } from "./console/console-plugin.js";
import { createExternalLifecycle } from "./external/external-lifecycle.js";
import { startExternalRunMonitor } from "./external/external-run-monitor.js";
import { installJsonBody } from "./json-body.js";
import { installMetrics } from "./metrics.js";
import { installOpenApi } from "./openapi.js";
import { installRunRateLimit } from "./rate-limit.js";
import { cancelRunRoute } from "./routes/cancel-run.js";
import { createRunRoute } from "./routes/create-run.js";
import { healthRoutes } from "./routes/health.js";
import { publishEventsRoute } from "./routes/publish-events.js";
import { readEventsRoute } from "./routes/read-events.js";
import { readRunsRoutes } from "./routes/read-runs.js";
import type { RouteContext } from "./routes/route-context.js";
import { threadRoutes } from "./routes/threads.js";
import { createRunMetrics } from "./run-metrics.js";
import { createThreadAccess } from "./thread-access.js";

export interface ApiDeps {
  /** Command connection (run records, meta, publishing, readiness). Owned by the caller. */
  redis: RedisClient;
  /**
   * Opens a connection for one blocking read (`?wait=`, `Accept: text/event-stream` on POST runs): XREAD
   * BLOCK holds its connection, so each follow gets its own and closes it.
   */
  createBlockingConnection(name: string): RedisClient;
  /** The `runs` queue. Owned by the caller. */
  queue: Pick<RunsQueue, "enqueue" | "removeQueued">;
  /** Validates agent names and inputs before a run is queued. */
  agents: Pick<AgentRegistry, "validateInput">;
  /** The PostgreSQL archive (ARCHIVE on), migrated. Owned by the caller. */
  archive?: ArchiveSql;
  log?: Logger;
  now?: () => number;
  version?: string;
}

/** Builds the API (no env, no listen). Closing the app closes nothing it was given. */
export async function buildApi(config: ApiConfig, deps: ApiDeps): Promise<FastifyInstance> {
  const app = createServiceApp({
    ...(deps.log ? { log: deps.log } : {}),
    requestTimeoutMs: config.requestTimeoutMs,
    fastify: {
      bodyLimit: config.bodyLimitBytes,
      // Only TRUST_PROXY's proxies may set the client address and scheme (X-Forwarded-For/-Proto), which
      // the admin login's throttle and its cookie's Secure flag rely on; by default nobody can.
      trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
      ...contractFrameworkOptions(),
    },
  });
  installJsonBody(app);
  // Route schemas document the API; zod in the handlers is the only validation, so every error keeps
  // our shape, and responses are sent exactly as built.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await installOpenApi(app, deps.version ?? "0.1.0");
  await app.register(cors, {
    origin: corsOrigin(config.corsOrigins),
    methods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowedHeaders: ["authorization", "content-type"],
    maxAge: 600,
  });
  const registry = config.metrics ? installMetrics(app) : undefined;
  // Before any route: the plugin attaches its hook to routes as they are added.
  await installRunRateLimit(app, deps.redis, config.rateLimitPerMinute);

  const now = deps.now ?? Date.now;
  const verifier = createVerifier(config.jwt);
  const runs = createRunRecords(deps.redis, {
    onInvalid: ({ key, problem }) => app.log.warn({ key, problem }, "invalid run record; served as absent"),
  });
  // With the archive on, what the API publishes (queued, cancel, enqueue failures, external runs'
  // events) marks its thread for the archiver too.
  const feed = config.archive
    ? createArchiveFeed(deps.redis, { markIntervalMs: config.archive.markIntervalMs })
    : undefined;
  const lifecycle = createRunLifecycle(deps.redis, {
    logMaxLen: config.redis.logMaxLen,
    logTtlSeconds: config.redis.logTtlSeconds,
    now,
    ...(feed ? { onAppended: (threadId: string) => feed.touch(threadId) } : {}),
  });
  const redisPublisher = createEventPublisher(deps.redis, {
    logMaxLen: config.redis.logMaxLen,
    logTtlSeconds: config.redis.logTtlSeconds,
    now,
  });
  const publisher = feed ? withArchiveFeed(redisPublisher, feed) : redisPublisher;
  const externalRuns = createExternalRuns(deps.redis);
  const external = createExternalLifecycle({
    redis: deps.redis,
    runs,
    lifecycle,
    externalRuns,
    timeoutMs: config.externalRunTimeoutMs,
    renewEveryMs: renewIntervalMs(config.redis.logTtlSeconds),
    now,
  });
  const meta = createThreadMeta(deps.redis, { archiveFollows: deps.archive !== undefined });
  const archive = deps.archive ? { reader: createArchiveReader(deps.archive), sql: deps.archive } : undefined;
  const ctx: RouteContext = {
    config,
    redis: deps.redis,
    queue: deps.queue,
    runs,
    lifecycle,
    publisher,
    access: createThreadAccess(meta, createOwnerLookup(meta, archive?.reader), now, archive !== undefined),
    agents: deps.agents,
    metrics: createRunMetrics(registry),
    externalRuns,
    external,
    now,
    readPage: createMergedLog(deps.redis, archive?.reader),
    ...(archive ? { archive } : {}),
    openBlockingConnection: (name) => deps.createBlockingConnection(name),
    follows: new Set(),
  };
  // Waits and streamed runs end at shutdown (a streamed client resumes from the gateway).
  app.addHook("preClose", async () => {
    for (const stop of [...ctx.follows]) stop();
  });
  // Every instance watches every external run for silence; keyed events keep the failure single.
  const monitor = startExternalRunMonitor(externalRuns, external, config.externalRunCheckMs, deps.log);
  app.addHook("onClose", async () => monitor.stop());
  await healthRoutes(app, ctx, registry);
  await app.register(consolePlugin, {
    ...(config.gatewayPublicUrl ? { gatewayUrl: config.gatewayPublicUrl } : {}),
  });
  await app.register(queueDashboardPlugin, {
    config,
    verifier,
    queue: (deps.queue as Partial<RunsQueue>).queue,
    loginThrottle: createLoginThrottle(deps.redis, {
      maxFailures: config.adminLoginMaxFailures,
      windowMs: config.adminLoginWindowMs,
    }),
    now,
  });
  await app.register(async (v1) => {
    v1.addHook("onRequest", createAuthenticate(verifier));
    createRunRoute(v1, ctx);
    readRunsRoutes(v1, ctx);
    threadRoutes(v1, ctx);
    cancelRunRoute(v1, ctx);
    readEventsRoute(v1, ctx);
    publishEventsRoute(v1, ctx);
  });
  return app;
}
