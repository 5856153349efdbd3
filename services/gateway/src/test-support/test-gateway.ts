import { Writable } from "node:stream";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET, type Env, type GatewayConfig, loadGatewayConfig } from "@threadline/config";
import { closeRedisClient, createRedisClient, type RedisClient } from "@threadline/redis";
import { createLogger } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { buildGateway } from "../app.js";

export interface TestGateway {
  app: FastifyInstance;
  config: GatewayConfig;
  /** http://127.0.0.1:<port> */
  base: string;
  redis: RedisClient;
  /** Every JSON log line the gateway wrote (parsed). */
  logs: Record<string, unknown>[];
  /** The same lines, raw, as they would reach stdout. */
  rawLogs: string[];
  /** `${base}/v1/threads/${threadId}/events` plus the query. */
  eventsUrl(threadId: string, query?: Record<string, string>): string;
  /** A dev token that may read `threads` (default all). */
  token(options?: {
    sub?: string;
    threads?: string[];
    ttlSeconds?: number;
    audience?: string;
    issuer?: string;
  }): string;
  close(): Promise<void>;
}

/** An in-process gateway on a free port, against a real Redis, with its log lines captured. */
export async function startTestGateway(redisUrl: string, env: Env = {}): Promise<TestGateway> {
  const config = loadGatewayConfig({ REDIS_URL: redisUrl, LOG_LEVEL: "info", ...env });
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line));
      }
      done();
    },
  });
  const log = createLogger({ service: "gateway", level: config.logLevel }, sink);
  const redis = createRedisClient(config.redis, { name: "gateway-test" });
  redis.on("error", () => {});
  const app = await buildGateway(config, {
    log,
    redis,
    createSubscriberConnection: (name) => createRedisClient(config.redis, { name }),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;
  return {
    app,
    config,
    base,
    redis,
    logs,
    rawLogs,
    eventsUrl(threadId, query = {}) {
      const qs = new URLSearchParams(query).toString();
      return `${base}/v1/threads/${threadId}/events${qs ? `?${qs}` : ""}`;
    },
    token: (options = {}) =>
      signDevToken(DEV_JWT_SECRET, {
        sub: options.sub ?? "tester",
        threads: options.threads ?? ["*"],
        ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
        ...(options.issuer ? { issuer: options.issuer } : {}),
      }),
    async close() {
      await app.close();
      await closeRedisClient(redis);
    },
  };
}
