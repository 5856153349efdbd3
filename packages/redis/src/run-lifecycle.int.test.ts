import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { PublishRefusedError } from "./publish-refused.js";
import { readLog } from "./replay-log.js";
import { createRunLifecycle } from "./run-lifecycle.js";
import { createRunRecords } from "./run-records.js";
import { subscribeThread } from "./subscribe-thread.js";
import { createThreadMeta, ThreadOwnedError } from "./thread-meta.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

const retention = { logMaxLen: 1000, logTtlSeconds: 600 };
const logOf = async (threadId: string) =>
  (await readLog(t.client, threadId, "0", 100)).entries.map((e) => JSON.parse(e.json));
const brief = (e: { type: string; seq?: number; content: { state?: string; code?: string } }) =>
  [e.seq, e.type, e.content.state ?? e.content.code ?? ""].join(":");

describe("run lifecycle (real Redis)", () => {
  it("start: the record (queued, indexed, lastRunId) and `status queued` land together", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    const events = await lifecycle.start({ ...run, agent: "demo" });
    expect(events.map((e) => [e.type, e.seq])).toEqual([["status", 1]]);
    expect((await logOf(threadId)).map(brief)).toEqual(["1:status:queued"]);
    expect(await createRunRecords(t.client).get(threadId, "r1")).toMatchObject({
      status: "queued",
      attempts: 0,
    });
    expect(await t.client.zrange(keys.threadRuns(threadId), "0", "-1")).toEqual(["r1"]);
    expect(await t.client.hget(keys.threadMeta(threadId), "lastRunId")).toBe("r1");
    for (const key of [keys.run(threadId, "r1"), keys.threadRuns(threadId), keys.threadMeta(threadId)]) {
      expect(await t.client.ttl(key)).toBeGreaterThan(590);
    }
  });

  it("start with a claim: an unowned thread is claimed (with its TTL) in the same call as the start", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const claimFor = (subject: string, requiredOwner?: string, archiveFollows = false) =>
      createThreadMeta(t.client, { archiveFollows }).claimForStart(subject, {
        createdAt: "2026-01-01T00:00:00.000Z",
        ...(requiredOwner ? { requiredOwner } : {}),
      });
    const threadId = uniqueId();
    const events = await lifecycle.start(
      { threadId, runId: "r1", agent: "demo" },
      claimFor("alice", "alice"),
    );
    expect(events.map((e) => [e.type, e.seq])).toEqual([["status", 1]]);
    expect(await t.client.hgetall(keys.threadMeta(threadId))).toMatchObject({
      owner: "alice",
      createdAt: "2026-01-01T00:00:00.000Z",
      lastRunId: "r1",
    });
    expect(await t.client.hexists(keys.threadMeta(threadId), "n")).toBe(0);
    expect(await t.client.ttl(keys.threadMeta(threadId))).toBeGreaterThan(590);
    expect(await createRunRecords(t.client).get(threadId, "r1")).toMatchObject({ status: "queued" });
    // The owner's next run, and one by a token that may use any owner's thread (no required owner).
    await lifecycle.start({ threadId, runId: "r2", agent: "demo" }, claimFor("alice", "alice"));
    await lifecycle.start({ threadId, runId: "r3", agent: "demo" }, claimFor("carol"));
    expect(await t.client.hget(keys.threadMeta(threadId), "owner")).toBe("alice");
    expect((await logOf(threadId)).map((e) => e.runId)).toEqual(["r1", "r2", "r3"]);
    // With the archive following threads, the claim starts its counters (claimThread-1.lua).
    const followed = uniqueId();
    await lifecycle.start({ threadId: followed, runId: "r1", agent: "demo" }, claimFor("bob", "bob", true));
    expect(await t.client.hmget(keys.threadMeta(followed), "owner", "archivedN")).toEqual(["bob", "0"]);
  });

  it("start with a claim on someone else's thread is refused before anything of the run is written", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const meta = createThreadMeta(t.client);
    const threadId = uniqueId();
    const createdAt = "2026-01-01T00:00:00.000Z";
    await lifecycle.start(
      { threadId, runId: "r1", agent: "demo" },
      meta.claimForStart("alice", { createdAt }),
    );
    const before = await t.client.hgetall(keys.threadMeta(threadId));
    const refused = lifecycle.start(
      { threadId, runId: "r2", agent: "demo" },
      meta.claimForStart("bob", { createdAt, requiredOwner: "bob" }),
    );
    await expect(refused).rejects.toBeInstanceOf(ThreadOwnedError);
    await expect(refused).rejects.toMatchObject({ owner: "alice" });
    expect(await t.client.hgetall(keys.threadMeta(threadId))).toEqual(before);
    expect((await logOf(threadId)).map(brief)).toEqual(["1:status:queued"]);
    expect(await t.client.exists(keys.run(threadId, "r2"), keys.runPublishState(threadId, "r2"))).toBe(0);
    expect(await t.client.zrange(keys.threadRuns(threadId), "0", "-1")).toEqual(["r1"]);
  });

  it("running → retrying → failed: each transition's events and record update, gap-free, live = log", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const records = createRunRecords(t.client);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    const live: string[] = [];
    const sub = subscribeThread(createRedisClient({ url: t.redis.url }, { name: "test-sub" }), threadId, {
      onMessage: (raw) => live.push(raw.toString()),
    });
    await sub.ready;
    await lifecycle.start({ ...run, agent: "demo" });
    await lifecycle.running(run, 1, "2026-01-01T00:00:00.000Z");
    expect(await records.get(threadId, "r1")).toMatchObject({ status: "running", attempts: 1 });
    const oops = { code: "UPSTREAM", message: "try later", retryable: true };
    await lifecycle.retrying(run, oops, 1);
    expect(await records.get(threadId, "r1")).toMatchObject({ status: "retrying", error: oops });
    await lifecycle.running(run, 2, "2026-01-01T00:00:00.000Z");
    const fatal = { code: "AUTH_FAILED", message: "bad key", retryable: false };
    await lifecycle.fail(run, fatal, 2);
    const log = await logOf(threadId);
    expect(log.map(brief)).toEqual([
      "1:status:queued",
      "2:status:running",
      "3:error:UPSTREAM",
      "4:status:retrying",
      "5:error:AUTH_FAILED",
      "6:status:failed",
      "7:done:",
    ]);
    expect(log[5].content).toEqual({ state: "failed", attempt: 2, message: "bad key" });
    expect(log[6].content).toEqual({ finishReason: "error" });
    expect(await records.get(threadId, "r1")).toMatchObject({
      status: "failed",
      attempts: 2,
      startedAt: "2026-01-01T00:00:00.000Z",
      error: fatal,
      finishedAt: expect.any(String),
    });
    await expect.poll(() => live.length).toBe(7);
    await sub.close();
    expect(live).toEqual((await readLog(t.client, threadId, "0", 100)).entries.map((e) => e.json));
  });

  it("complete and cancel end the run with their events; handBack only moves the record", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const records = createRunRecords(t.client);
    const threadId = uniqueId();
    const a = { threadId, runId: "a" };
    const b = { threadId, runId: "b" };
    await lifecycle.start({ ...a, agent: "demo" });
    await lifecycle.start({ ...b, agent: "demo" });
    await lifecycle.running(a, 1, "2026-01-01T00:00:00.000Z");
    await lifecycle.handBack(a);
    expect(await records.get(threadId, "a")).toMatchObject({ status: "retrying" });
    await lifecycle.complete(a, { finishReason: "stop", output: { text: "hi" } }, 1);
    await lifecycle.cancel(b, { message: "cancelled by alice" });
    const log = await logOf(threadId);
    expect(log.filter((e) => e.runId === "a").map(brief)).toEqual([
      "1:status:queued",
      "2:status:running",
      "3:done:",
    ]);
    expect(log.filter((e) => e.runId === "b").map(brief)).toEqual([
      "1:status:queued",
      "2:status:cancelled",
      "3:done:",
    ]);
    expect(log.at(-2).content).toEqual({ state: "cancelled", message: "cancelled by alice" });
    expect(await records.get(threadId, "a")).toMatchObject({ status: "completed", output: { text: "hi" } });
    expect(await records.get(threadId, "b")).toMatchObject({
      status: "cancelled",
      finishedAt: expect.any(String),
    });
  });

  it("every transition renews the run record's and the runs index's TTL with the log's", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    await lifecycle.start({ ...run, agent: "demo" });
    // As if the run had been queued for most of the TTL since its record was written.
    await t.client.expire(keys.run(threadId, "r1"), 5);
    await t.client.expire(keys.threadRuns(threadId), 5);
    await lifecycle.running(run, 1, "2026-01-01T00:00:00.000Z");
    for (const key of [keys.run(threadId, "r1"), keys.threadRuns(threadId), keys.threadLog(threadId)]) {
      expect(await t.client.ttl(key)).toBeGreaterThan(590);
    }
  });

  it("renew keeps a live run's record, index, log, meta and publish state alive; it re-creates nothing", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    await lifecycle.start({ ...run, agent: "demo" });
    await lifecycle.running(run, 1, "2026-01-01T00:00:00.000Z");
    const threadKeys = [
      keys.run(threadId, "r1"),
      keys.threadRuns(threadId),
      keys.threadLog(threadId),
      keys.threadMeta(threadId),
      keys.runPublishState(threadId, "r1"),
    ];
    // As if the run had been quiet (no transition, no event) for most of the TTL.
    for (const key of threadKeys) await t.client.expire(key, 5);
    const before = (await logOf(threadId)).length;
    await lifecycle.renew(run);
    for (const key of threadKeys) expect(await t.client.ttl(key), key).toBeGreaterThan(590);
    expect(await logOf(threadId)).toHaveLength(before);
    expect(await createRunRecords(t.client).get(threadId, "r1")).toMatchObject({ status: "running" });
    await t.client.del(...threadKeys);
    await lifecycle.renew(run);
    expect(await t.client.exists(...threadKeys)).toBe(0);
  });

  it("never re-creates an expired record as a fragment without TTL; the events still go out", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    await lifecycle.start({ ...run, agent: "demo" });
    await t.client.del(keys.run(threadId, "r1"));
    await lifecycle.complete(run, { finishReason: "stop" }, 1);
    expect(await t.client.exists(keys.run(threadId, "r1"))).toBe(0);
    expect((await logOf(threadId)).map(brief)).toEqual(["1:status:queued", "2:done:"]);
  });

  it("running keeps the first attempt's startedAt and refuses a run whose record already ended", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const records = createRunRecords(t.client);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    await lifecycle.start({ ...run, agent: "demo" });
    await lifecycle.running(run, 1, "2026-01-01T00:00:00.000Z");
    await lifecycle.retrying(run, { code: "UPSTREAM", message: "later", retryable: true }, 1);
    await lifecycle.running(run, 2, "2026-01-01T00:05:00.000Z");
    expect(await records.get(threadId, "r1")).toMatchObject({
      status: "running",
      attempts: 2,
      startedAt: "2026-01-01T00:00:00.000Z",
    });

    // A final record without a `done` in the publish state (written by hand here): still refused,
    // before anything is written, so the worker needs no read of its own before `running`.
    const other = { threadId, runId: "r2" };
    await lifecycle.start({ ...other, agent: "demo" });
    await t.client.hset(keys.run(threadId, "r2"), "status", "cancelled");
    const before = await logOf(threadId);
    const refused = await lifecycle.running(other, 1, "2026-01-01T00:00:00.000Z").catch((e) => e);
    expect(refused).toBeInstanceOf(PublishRefusedError);
    expect(refused.code).toBe("RUN_ENDED");
    expect(await logOf(threadId)).toEqual(before);
    expect(await records.get(threadId, "r2")).toMatchObject({ status: "cancelled", attempts: 0 });
    expect(await records.get(threadId, "r2")).not.toHaveProperty("startedAt");
  });

  it("a refused transition changes nothing: a superseded attempt, or anything after done", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const records = createRunRecords(t.client);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    await lifecycle.start({ ...run, agent: "demo" });
    await lifecycle.running(run, 1, "2026-01-01T00:00:00.000Z");
    await lifecycle.running(run, 2, "2026-01-01T00:00:00.000Z");
    // Attempt 1 was paused past its lock; attempt 2 took over. Its failure must not touch the run.
    const stale = await lifecycle
      .fail(run, { code: "X", message: "late", retryable: false }, 1)
      .catch((e) => e);
    expect(stale).toBeInstanceOf(PublishRefusedError);
    expect(stale.code).toBe("STALE_ATTEMPT");
    expect(await records.get(threadId, "r1")).toMatchObject({ status: "running", attempts: 2 });
    await lifecycle.complete(run, { finishReason: "stop" }, 2);
    const late = await lifecycle.cancel(run).catch((e) => e);
    expect(late.code).toBe("RUN_ENDED");
    expect(await records.get(threadId, "r1")).toMatchObject({ status: "completed" });
    expect((await logOf(threadId)).map(brief)).toEqual([
      "1:status:queued",
      "2:status:running",
      "3:status:retrying",
      "4:done:",
    ]);
  });

  it("a re-sent transition appends nothing twice (every transition is keyed)", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    await lifecycle.start({ ...run, agent: "demo" });
    const first = await lifecycle.cancel(run);
    const again = await lifecycle.cancel(run);
    expect(again.map((e) => [e.id, e.duplicate])).toEqual(first.map((e) => [e.id, true]));
    expect((await logOf(threadId)).map(brief)).toEqual(["1:status:queued", "2:status:cancelled", "3:done:"]);
  });

  it("the runs index keeps the newest `runsIndexCap` runs (bounded on a long-lived thread)", async () => {
    let clock = 1_000;
    const lifecycle = createRunLifecycle(t.client, { ...retention, runsIndexCap: 3, now: () => clock++ });
    const threadId = uniqueId();
    for (const runId of ["r1", "r2", "r3", "r4", "r5"])
      await lifecycle.start({ threadId, runId, agent: "demo" });
    expect(await t.client.zrange(keys.threadRuns(threadId), "0", "-1")).toEqual(["r3", "r4", "r5"]);
    // Trimmed from the list, a record still answers by id until it expires with the thread.
    expect(await createRunRecords(t.client).get(threadId, "r1")).toMatchObject({ status: "queued" });
  });
});
