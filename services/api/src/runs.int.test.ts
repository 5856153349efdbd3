import { keys, RUN_BACKOFF_TYPE, readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({
    RUN_ATTEMPTS: "4",
    RUN_BACKOFF_MS: "250",
    GATEWAY_PUBLIC_URL: "http://gw.example:3001/",
  });
});
afterAll(async () => {
  await h?.close();
});

function createRun(threadId: string, sub: string, body: unknown = { input: { prompt: "hello" } }) {
  return h.app.inject({
    method: "POST",
    url: `/v1/threads/${threadId}/runs`,
    headers: { authorization: h.bearer(sub), "content-type": "application/json" },
    payload: JSON.stringify(body),
  });
}

describe("POST /v1/threads/:threadId/runs", () => {
  it("queues a demo run: 202, run record, status queued in the log, job with attempts and backoff", async () => {
    const threadId = uniqueId();
    const res = await createRun(threadId, "alice", {
      input: { prompt: "count to 3" },
      metadata: { ticket: 7 },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({
      runId: expect.stringMatching(/^run_[a-z0-9]+_[0-9a-f]{12}$/),
      threadId,
      status: "queued",
      eventsUrl: `http://gw.example:3001/v1/threads/${threadId}/events`,
    });

    const meta = await h.redis.hgetall(keys.threadMeta(threadId));
    expect(meta).toMatchObject({ owner: "alice", lastRunId: body.runId });
    expect(Date.parse(meta.createdAt!)).toBeGreaterThan(Date.now() - 60_000);

    const run = await h.app.inject({
      url: `/v1/threads/${threadId}/runs/${body.runId}`,
      headers: { authorization: h.bearer("alice") },
    });
    expect(run.statusCode).toBe(200);
    expect(run.json()).toEqual({
      runId: body.runId,
      threadId,
      agent: "demo",
      status: "queued",
      createdAt: expect.any(String),
      attempts: 0,
      input: { prompt: "count to 3" },
      metadata: { ticket: 7 },
    });

    const log = await readLog(h.redis, threadId, "0", 10);
    expect(log.entries.map((e) => JSON.parse(e.json))).toEqual([
      expect.objectContaining({ type: "status", runId: body.runId, seq: 1, content: { state: "queued" } }),
    ]);

    const job = await h.queue.queue.getJob(body.runId);
    expect(job?.data).toEqual({
      runId: body.runId,
      threadId,
      agent: "demo",
      input: { prompt: "count to 3" },
      owner: "alice",
      metadata: { ticket: 7 },
    });
    expect(job?.opts).toMatchObject({ attempts: 4, backoff: { type: RUN_BACKOFF_TYPE, delay: 250 } });
    expect(await job?.getState()).toBe("waiting");
  });

  it("keeps the first owner: a second subject gets 403, a token granted the thread or admin may", async () => {
    const threadId = uniqueId();
    const queuedBefore = await h.queue.queue.count();
    expect((await createRun(threadId, "alice")).statusCode).toBe(202);
    const bob = await createRun(threadId, "bob");
    expect(bob.statusCode).toBe(403);
    expect(bob.json().error).toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining(threadId) });
    expect(await h.redis.hget(keys.threadMeta(threadId), "owner")).toBe("alice");
    // Refused in the claim's own script: no run of bob's was recorded, announced or queued.
    expect(await h.redis.zcard(keys.threadRuns(threadId))).toBe(1);
    expect((await readLog(h.redis, threadId, "0", 10)).entries).toHaveLength(1);
    expect(await h.queue.queue.count()).toBe(queuedBefore + 1);

    for (const url of [`/v1/threads/${threadId}/runs`, `/v1/threads/${threadId}/events?after=0`]) {
      const read = await h.app.inject({ url, headers: { authorization: h.bearer("bob") } });
      expect(read.statusCode, url).toBe(403);
    }
    const granted = await h.app.inject({
      url: `/v1/threads/${threadId}/runs`,
      headers: { authorization: h.bearer("carol", { threads: [threadId] }) },
    });
    expect(granted.statusCode).toBe(200);
    const admin = await h.app.inject({
      url: `/v1/threads/${threadId}/runs`,
      headers: { authorization: h.bearer("root", { role: "admin" }) },
    });
    expect(admin.statusCode).toBe(200);
    expect((await createRun(threadId, "alice")).statusCode).toBe(202);
  });

  it("lets exactly one of two concurrent first runs by different subjects own the thread", async () => {
    const threadId = uniqueId();
    const [a, b] = await Promise.all([createRun(threadId, "alice"), createRun(threadId, "bob")]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([202, 403]);
    const winner = a.statusCode === 202 ? "alice" : "bob";
    expect(await h.redis.hget(keys.threadMeta(threadId), "owner")).toBe(winner);
  });

  it("lists a thread's runs newest first", async () => {
    const threadId = uniqueId();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createRun(threadId, "alice")).json().runId);
    const res = await h.app.inject({
      url: `/v1/threads/${threadId}/runs?limit=2`,
      headers: { authorization: h.bearer("alice") },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().runs.map((r: { runId: string }) => r.runId)).toEqual([ids[2], ids[1]]);
  });

  it("answers 404 for an unknown run and an unknown route", async () => {
    const threadId = uniqueId();
    await createRun(threadId, "alice");
    const run = await h.app.inject({
      url: `/v1/threads/${threadId}/runs/run_nope`,
      headers: { authorization: h.bearer("alice") },
    });
    expect(run.statusCode).toBe(404);
    expect(run.json().error).toEqual({
      code: "RUN_NOT_FOUND",
      message: `no run run_nope in thread ${threadId}`,
    });
    const route = await h.app.inject({ url: "/v2/nothing" });
    expect(route.statusCode).toBe(404);
    expect(route.json().error.code).toBe("NOT_FOUND");
  });
});

describe("onDisconnect", () => {
  it("is handed to the worker with the job, and an explicit agent is kept", async () => {
    const threadId = uniqueId();
    const res = await createRun(threadId, "alice", {
      agent: "demo",
      input: { prompt: "x" },
      onDisconnect: { cancelAfterMs: 5_000 },
    });
    expect(res.statusCode).toBe(202);
    const job = await h.queue.queue.getJob(res.json().runId);
    expect(job?.data).toMatchObject({ agent: "demo", onDisconnect: { cancelAfterMs: 5_000 } });
  });
});

describe("run rate limit (RATE_LIMIT_RUNS_PER_MINUTE)", () => {
  it("refuses a subject's runs past its per-minute budget with 429 and Retry-After; other subjects are unaffected", async () => {
    const limited = await startApiHarness({ RATE_LIMIT_RUNS_PER_MINUTE: "2" });
    try {
      const post = (sub: string) =>
        limited.app.inject({
          method: "POST",
          url: `/v1/threads/${uniqueId()}/runs`,
          headers: { authorization: limited.bearer(sub) },
          payload: { input: { prompt: "hi" } },
        });
      const sub = uniqueId("sub");
      const first = await post(sub);
      expect(first.statusCode).toBe(202);
      expect(first.headers).toMatchObject({ "x-ratelimit-limit": "2", "x-ratelimit-remaining": "1" });
      expect((await post(sub)).statusCode).toBe(202);
      const third = await post(sub);
      expect(third.statusCode).toBe(429);
      expect(third.json().error).toMatchObject({
        code: "RATE_LIMITED",
        message: expect.stringContaining("at most 2 per minute"),
        details: { limit: 2 },
      });
      const retryAfter = Number(third.headers["retry-after"]);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(third.json().error.details.retryAfterSeconds).toBe(retryAfter);
      expect(third.headers).toMatchObject({ "x-ratelimit-limit": "2", "x-ratelimit-remaining": "0" });
      expect((await post(uniqueId("other"))).statusCode).toBe(202);
      // Checked after authentication: no token is still 401, not 429.
      const anonymous = await limited.app.inject({
        method: "POST",
        url: `/v1/threads/${uniqueId()}/runs`,
        payload: { input: { prompt: "hi" } },
      });
      expect(anonymous.statusCode).toBe(401);
      // Other routes are not limited.
      const read = await limited.app.inject({
        url: `/v1/threads/${uniqueId()}/runs`,
        headers: { authorization: limited.bearer(sub) },
      });
      expect(read.headers["x-ratelimit-limit"]).toBeUndefined();
    } finally {
      await limited.close();
    }
  });
});

describe("run rate limit off (RATE_LIMIT_RUNS_PER_MINUTE=0)", () => {
  it("registers no limit: no x-ratelimit headers, no 429", async () => {
    const unlimited = await startApiHarness({ RATE_LIMIT_RUNS_PER_MINUTE: "0" });
    try {
      const sub = uniqueId("sub");
      for (let i = 0; i < 3; i++) {
        const res = await unlimited.app.inject({
          method: "POST",
          url: `/v1/threads/${uniqueId()}/runs`,
          headers: { authorization: unlimited.bearer(sub) },
          payload: { input: { prompt: "hi" } },
        });
        expect(res.statusCode).toBe(202);
        expect(res.headers["x-ratelimit-limit"]).toBeUndefined();
      }
    } finally {
      await unlimited.close();
    }
  });
});

describe("a run that cannot be queued", () => {
  it("is 503 with Retry-After, and the run ends failed with error + done so nobody waits on it", async () => {
    const broken = await startApiHarness();
    await broken.queue.close();
    try {
      const threadId = uniqueId();
      const res = await broken.app.inject({
        method: "POST",
        url: `/v1/threads/${threadId}/runs`,
        headers: { authorization: broken.bearer("alice") },
        payload: { input: { prompt: "hi" } },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBe("1");
      expect(res.json().error.code).toBe("UNAVAILABLE");
      const runId = await broken.redis.hget(keys.threadMeta(threadId), "lastRunId");
      const log = await readLog(broken.redis, threadId, "0", 10);
      expect(log.entries.map((e) => JSON.parse(e.json))).toMatchObject([
        { type: "status", seq: 1, content: { state: "queued" } },
        { type: "error", seq: 2, content: { code: "ENQUEUE_FAILED", retryable: true } },
        { type: "status", seq: 3, content: { state: "failed" } },
        { type: "done", seq: 4, content: { finishReason: "error" } },
      ]);
      const run = await broken.app.inject({
        url: `/v1/threads/${threadId}/runs/${runId}`,
        headers: { authorization: broken.bearer("alice") },
      });
      expect(run.json()).toMatchObject({
        status: "failed",
        error: { code: "ENQUEUE_FAILED" },
        finishedAt: expect.any(String),
      });
    } finally {
      await broken.close();
    }
  });
});
