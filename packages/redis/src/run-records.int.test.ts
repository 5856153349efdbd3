import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createRunLifecycle } from "./run-lifecycle.js";
import { createRunRecords, type InvalidRunRecord } from "./run-records.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

describe("runRecords (real Redis)", () => {
  it("reads records written by the lifecycle, newest first, with JSON fields decoded", async () => {
    let clock = Date.parse("2026-01-01T00:00:00.000Z");
    const lifecycle = createRunLifecycle(t.client, { logMaxLen: 100, logTtlSeconds: 60, now: () => clock });
    const records = createRunRecords(t.client);
    const threadId = uniqueId();
    await lifecycle.start({ threadId, runId: "r1", agent: "demo", metadata: { a: 1 } });
    clock += 1_000;
    await lifecycle.start({ threadId, runId: "r2", agent: "demo" });
    clock += 1_000;
    await lifecycle.complete({ threadId, runId: "r1" }, { finishReason: "stop", output: { text: "hi" } }, 1);
    expect(await records.get(threadId, "r1")).toEqual({
      runId: "r1",
      threadId,
      agent: "demo",
      status: "completed",
      createdAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:02.000Z",
      attempts: 0,
      metadata: { a: 1 },
      output: { text: "hi" },
    });
    expect((await records.list(threadId, 10)).map((r) => r.runId)).toEqual(["r2", "r1"]);
    expect(await records.get(threadId, "missing")).toBeUndefined();
  });

  it("validates with the contract's schema: an invalid record is reported and read as absent", async () => {
    const invalid: InvalidRunRecord[] = [];
    const records = createRunRecords(t.client, { onInvalid: (i) => invalid.push(i) });
    const threadId = uniqueId();
    // A fragment (no agent, no createdAt) and a record whose JSON field does not parse.
    await t.client.hset(keys.run(threadId, "frag"), { runId: "frag", threadId, status: "completed" });
    await t.client.hset(keys.run(threadId, "bad"), {
      runId: "bad",
      threadId,
      agent: "demo",
      status: "failed",
      createdAt: "2026-01-01T00:00:00.000Z",
      attempts: "1",
      error: "{not json",
    });
    await t.client.zadd(keys.threadRuns(threadId), 1, "frag", 2, "bad");
    expect(await records.get(threadId, "frag")).toBeUndefined();
    expect(await records.list(threadId, 10)).toEqual([]);
    expect(invalid.map((i) => i.key)).toContain(keys.run(threadId, "frag"));
    expect(invalid.find((i) => i.key === keys.run(threadId, "frag"))?.problem).toMatch(/agent/);
    expect(invalid.find((i) => i.key === keys.run(threadId, "bad"))?.problem).toMatch(/JSON/);
  });

  it("lists without the excepted run, never reading its record", async () => {
    const invalid: InvalidRunRecord[] = [];
    const records = createRunRecords(t.client, { onInvalid: (i) => invalid.push(i) });
    const lifecycle = createRunLifecycle(t.client, { logMaxLen: 100, logTtlSeconds: 60 });
    const threadId = uniqueId();
    await lifecycle.start({ threadId, runId: "earlier", agent: "demo" });
    // The excepted run's record does not decode: reading it would report it.
    await t.client.hset(keys.run(threadId, "own"), { runId: "own", threadId });
    await t.client.zadd(keys.threadRuns(threadId), Date.now() + 1_000, "own");
    expect((await records.list(threadId, 10, { except: "own" })).map((r) => r.runId)).toEqual(["earlier"]);
    expect(invalid).toEqual([]);
    expect((await records.list(threadId, 10)).map((r) => r.runId)).toEqual(["earlier"]);
    expect(invalid.map((i) => i.key)).toEqual([keys.run(threadId, "own")]);
  });
});
