import {
  getTestRedis,
  openSse,
  type RedisServer,
  type SseConnection,
  startRedisServer,
  type TestRedis,
  uniqueId,
} from "@threadline/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";

let redis: TestRedis;
const conns: SseConnection[] = [];
beforeAll(async () => {
  redis = await getTestRedis();
});
afterEach(() => {
  for (const c of conns.splice(0)) c.close();
});
afterAll(async () => {
  await redis.stop();
});

async function open(gw: TestGateway, sub: string, headers: Record<string, string> = {}) {
  const conn = await openSse(gw.eventsUrl(uniqueId()), {
    headers: { authorization: `Bearer ${gw.token({ sub })}`, ...headers },
  });
  conns.push(conn);
  return conn;
}

describe("limits, CORS and health (real HTTP, real Redis)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(redis.url, {
      MAX_CONNECTIONS: "3",
      MAX_STREAMS_PER_SUBJECT: "2",
      CORS_ORIGINS: "https://app.example.com",
    });
  });
  afterAll(async () => {
    await gw.close();
  });

  it("answers 429 past MAX_STREAMS_PER_SUBJECT and 503 past MAX_CONNECTIONS, with Retry-After", async () => {
    const a1 = await open(gw, "alice");
    await open(gw, "alice");
    const a3 = await open(gw, "alice");
    expect(a3.status).toBe(429);
    expect(a3.headers["retry-after"]).toMatch(/^\d+$/);
    expect(JSON.parse(a3.body).error.code).toBe("TOO_MANY_STREAMS");

    expect((await open(gw, "bob")).status).toBe(200);
    const b2 = await open(gw, "bob");
    expect(b2.status).toBe(503);
    expect(b2.headers["retry-after"]).toMatch(/^\d+$/);
    expect(JSON.parse(b2.body).error.code).toBe("TOO_MANY_CONNECTIONS");

    // A slot frees up when a stream ends.
    a1.close();
    const metricsText = async () => (await fetch(`${gw.base}/metrics`)).text();
    for (let i = 0; i < 100 && !(await metricsText()).includes("threadline_gateway_open_streams 2"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await open(gw, "bob")).status).toBe(200);
    expect(await metricsText()).toMatch(/threadline_gateway_open_streams 3/);
  });

  it("lets an allowed origin read the stream (CORS) and no other", async () => {
    const allowed = await open(gw, "carol", { origin: "https://app.example.com" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    const other = await open(gw, "dave", { origin: "https://evil.example.com" });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();

    const preflight = await fetch(gw.eventsUrl("t1"), {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization, last-event-id",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/last-event-id/);
  });

  it("serves /healthz, /readyz and /metrics with the gateway's metric names", async () => {
    expect(await (await fetch(`${gw.base}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${gw.base}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await fetch(`${gw.base}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await metrics.text();
    for (const name of [
      "threadline_gateway_open_streams",
      "threadline_gateway_events_delivered_total",
      "threadline_gateway_delivery_lag_seconds_bucket",
      "threadline_gateway_replayed_events_total",
      "threadline_gateway_invalid_messages_dropped_total",
      "threadline_gateway_slow_consumer_cutoffs_total",
      "threadline_gateway_auth_failures_total",
      "process_cpu_user_seconds_total",
    ]) {
      expect(text).toContain(name);
    }
    expect((await fetch(gw.eventsUrl("t1"), { method: "HEAD" })).status).toBe(404);
    const unknown = await fetch(`${gw.base}/nope`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });
});

describe("when Redis is down", () => {
  let server: RedisServer;
  let gw: TestGateway;
  beforeAll(async () => {
    server = await startRedisServer();
    gw = await startTestGateway(server.url, { SUBSCRIBE_TIMEOUT_MS: "500", LOG_LEVEL: "silent" });
  });
  afterAll(async () => {
    await gw.close();
    await server.dispose();
  });

  it("reports not ready and refuses streams with 503, then recovers", { timeout: 20_000 }, async () => {
    await server.stop();
    const ready = await fetch(`${gw.base}/readyz`);
    expect(ready.status).toBe(503);
    // One readiness code on every service (API, gateway, worker): NOT_READY, as docs/API.md documents.
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe("NOT_READY");
    const refused = await open(gw, "erin");
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error.code).toBe("REDIS_UNAVAILABLE");
    expect(refused.headers["retry-after"]).toMatch(/^\d+$/);

    await server.start();
    for (let i = 0; i < 100 && (await fetch(`${gw.base}/readyz`)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${gw.base}/readyz`)).status).toBe(200);
    expect((await open(gw, "erin")).status).toBe(200);
  });
});
