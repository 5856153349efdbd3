import { Writable } from "node:stream";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET, type Env, type GatewayConfig, loadGatewayConfig } from "@threadline/config";
import { closeRedisClient, createRedisClient, type RedisClient } from "@threadline/redis";
import { createLogger } from "@threadline/server";
import type { SseConnection } from "@threadline/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll } from "vitest";
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
  /** A sample's value on /metrics (the first line of that name, without labels); 0 when absent. */
  metric(name: string): Promise<number>;
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

export interface GatewayFixture {
  /** The gateway of the file (or `describe` block), started in `beforeAll`. */
  gw: TestGateway;
  /** SSE connections a test opened: closed after each test. */
  conns: SseConnection[];
}

/**
 * Registers the hooks of a suite on one in-process gateway: started before all on `redisUrl()` (a
 * fixture's Redis, known only once its own `beforeAll` ran) with `env`, the tests' SSE connections
 * closed after each test, the gateway closed after all.
 */
export function useTestGateway(redisUrl: () => string, env: Env = {}): GatewayFixture {
  const fixture = { conns: [] as SseConnection[] } as GatewayFixture;
  beforeAll(async () => {
    fixture.gw = await startTestGateway(redisUrl(), env);
  });
  afterEach(() => {
    for (const c of fixture.conns.splice(0)) c.close();
  });
  afterAll(async () => {
    await fixture.gw?.close();
  });
  return fixture;
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
    async metric(name) {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return line ? Number(line.split(" ")[1]) : 0;
    },
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
