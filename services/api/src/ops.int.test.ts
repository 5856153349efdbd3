import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import { loadApiConfig } from "@threadline/config";
import { createRedisClient, createRunsQueue } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi } from "./app.js";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ CORS_ORIGINS: "https://app.example, https://admin.example" });
});
afterAll(async () => {
  await h?.close();
});

describe("operations endpoints", () => {
  it("/healthz and /readyz answer 200 with Redis up", async () => {
    expect((await h.app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await h.app.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
  });

  it("/readyz is 503 with a JSON error when Redis does not answer", async () => {
    const port = await getPort({ host: "127.0.0.1" });
    const config = loadApiConfig({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      QUEUE_PREFIX: `{${uniqueId("q")}}`,
    });
    const redis = createRedisClient(config.redis, { name: "down" });
    redis.on("error", () => {});
    const queue = createRunsQueue(config.redis);
    queue.queue.on("error", () => {});
    const app = await buildApi(config, {
      redis,
      createBlockingConnection: (name) => createRedisClient(config.redis, { name }),
      queue,
      agents: createAgentRegistry(defaultAgents()),
    });
    try {
      const res = await app.inject({ url: "/readyz" });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({
        code: "NOT_READY",
        message: expect.stringContaining("redis unreachable"),
      });
      expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await app.close();
      redis.disconnect();
      await Promise.race([queue.close(), new Promise((r) => setTimeout(r, 500))]);
    }
  });

  it("/metrics counts requests by route template, method and status, with process metrics", async () => {
    const threadId = uniqueId();
    await h.app.inject({
      url: `/v1/threads/${threadId}/runs/run_x`,
      headers: { authorization: h.bearer("alice") },
    });
    await h.app.inject({ url: `/v1/threads/${threadId}/runs/run_x` });
    const res = await h.app.inject({ url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    const text = res.body;
    expect(text).toMatch(
      /threadline_api_http_requests_total\{route="\/v1\/threads\/:threadId\/runs\/:runId",method="GET",status="403"\} 1/,
    );
    expect(text).toMatch(
      /threadline_api_http_requests_total\{route="\/v1\/threads\/:threadId\/runs\/:runId",method="GET",status="401"\} 1/,
    );
    expect(text).toContain("threadline_api_http_request_duration_seconds_bucket{");
    expect(text).toContain("threadline_api_process_cpu_seconds_total");
    expect(text).not.toContain(threadId);
  });

  it("/metrics counts runs created by agent and cancels by where they ended", async () => {
    const threadId = uniqueId();
    const created = await h.app.inject({
      method: "POST",
      url: `/v1/threads/${threadId}/runs`,
      headers: { authorization: h.bearer("alice") },
      payload: { input: { prompt: "x" } },
    });
    await h.app.inject({
      method: "POST",
      url: `/v1/threads/${threadId}/runs/${created.json().runId}/cancel`,
      headers: { authorization: h.bearer("alice") },
    });
    const text = (await h.app.inject({ url: "/metrics" })).body;
    expect(text).toMatch(/threadline_api_runs_created_total\{agent="demo"\} [1-9]/);
    expect(text).toMatch(/threadline_api_runs_cancelled_total\{where="queued"\} [1-9]/);
  });

  it("CORS allows only the configured origins", async () => {
    const preflight = (origin: string) =>
      h.app.inject({
        method: "OPTIONS",
        url: "/v1/threads/t1/runs",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const allowed = await preflight("https://app.example");
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(String(allowed.headers["access-control-allow-headers"])).toContain("authorization");
    const denied = await preflight("https://evil.example");
    expect(denied.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("/openapi.json", () => {
  it("is an OpenAPI 3 document generated from the zod schemas, listing every route", async () => {
    const res = await h.app.inject({ url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.0.3");
    expect(doc.info.title).toBe("Threadline API");
    // The gateway's streams are not API routes; the description names their query parameters.
    for (const parameter of ["types=", "runId=", "agent=", "snapshot=1", "GET /v1/events?threads="])
      expect(doc.info.description).toContain(parameter);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        "GET /healthz",
        "GET /readyz",
        "GET /v1/threads",
        "DELETE /v1/threads/{threadId}",
        "GET /v1/threads/{threadId}/messages",
        "GET /v1/threads/{threadId}/events",
        "GET /v1/threads/{threadId}/runs",
        "GET /v1/threads/{threadId}/runs/{runId}",
        "POST /v1/threads/{threadId}/runs",
        "POST /v1/threads/{threadId}/runs/{runId}/cancel",
        "POST /v1/threads/{threadId}/runs/{runId}/events",
      ].sort(),
    );

    const create = doc.paths["/v1/threads/{threadId}/runs"].post;
    const body = create.requestBody.content["application/json"].schema;
    // `input` is required unless runner is external: the handler's zod check says so, by field.
    expect(body.required).toBeUndefined();
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(["runner", "agent", "input", "metadata", "onDisconnect"]),
    );
    expect(create.parameters).toContainEqual(
      expect.objectContaining({
        name: "threadId",
        in: "path",
        required: true,
        schema: expect.objectContaining({ pattern: "^[A-Za-z0-9_-]{1,128}$" }),
      }),
    );
    // 200: `?wait=` answered with the finished run (issue 18 item 5).
    expect(Object.keys(create.responses).sort()).toEqual([
      "200",
      "202",
      "400",
      "401",
      "403",
      "413",
      "415",
      "429",
      "503",
    ]);
    const accepted = create.responses["202"].content["application/json"].schema;
    // 202 is the queued run, or (after ?wait=) the run as it is: one of the two.
    expect(accepted.anyOf?.[0]?.required).toEqual(
      expect.arrayContaining(["runId", "threadId", "status", "eventsUrl"]),
    );
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    const events = doc.paths["/v1/threads/{threadId}/events"].get;
    expect(events.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual(
      ["path:threadId", "query:after", "query:limit"].sort(),
    );
    // Nothing JSON-Schema-2020-only leaks into an OpenAPI 3.0 document.
    expect(JSON.stringify(doc)).not.toMatch(/"\$schema"|"const"|"prefixItems"/);
  });
});
