import type { ThreadEvent } from "@threadline/protocol";
import {
  closeRedisClient,
  compareIds,
  createRedisClient,
  createRunRecords,
  keys,
  RUNS_QUEUE_NAME,
  readLog,
} from "@threadline/redis";
import { eventually, uniqueId } from "@threadline/testing";
import { Worker } from "bullmq";
import { describe, expect, it } from "vitest";
import { connectWorkerDeps } from "./deps.js";
import {
  brief,
  buildTestWorker,
  jobData,
  newPrefix,
  openQueue,
  seedRunRecord,
  silentLog,
  testRegistry,
  testWorkerConfig,
  useWorkerRedis,
  watchThread,
} from "./test-support/harness.js";
import { buildWorker } from "./worker.js";

const t = useWorkerRedis();

async function startWorker(env: Record<string, string> = {}, disconnectCheckMs?: number) {
  const prefix = newPrefix();
  const worker = buildTestWorker(testWorkerConfig(t.redis.url, prefix, env), {
    log: silentLog,
    agents: testRegistry(),
    ...(disconnectCheckMs ? { disconnectCheckMs } : {}),
  });
  const { port } = await worker.start();
  const queue = openQueue(t.redis.url, prefix);
  t.cleanups.push(
    () => worker.close(),
    () => queue.close(),
  );
  return { worker, queue, port, prefix };
}

async function watch(threadId: string) {
  const w = await watchThread(t.redis.url, threadId);
  t.cleanups.push(() => w.close());
  return w;
}

function expectGapFree(events: ThreadEvent[], runId: string) {
  const own = events.filter((e) => e.runId === runId);
  expect(own.map((e) => e.seq)).toEqual(own.map((_, i) => i + 1));
  for (let i = 1; i < own.length; i++) expect(compareIds(own[i - 1]!.id!, own[i]!.id!)).toBeLessThan(0);
}

/** How long the worker may take to settle a job or a record after its last event, and how often to look. */
const SOON = { timeoutMs: 5_000, intervalMs: 20 };

const cancel = (threadId: string, runId: string, reason?: string) =>
  t.client.publish(
    keys.controlChannel(),
    JSON.stringify({ type: "cancel", threadId, runId, ...(reason ? { reason } : {}) }),
  );

describe("worker (real Redis, real BullMQ)", () => {
  it("runs the demo agent end to end: status, tool calls, tokens, done — gap-free, logged as published", async () => {
    const { queue, port } = await startWorker();
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const data = jobData(threadId, "demo", {
      prompt: "Stream this, please",
      tokensPerSecond: 0,
      maxTokens: 12,
    });
    const runs = createRunRecords(t.client);
    await seedRunRecord(
      t.client,
      {
        runId: data.runId,
        threadId,
        agent: "demo",
        status: "queued",
        createdAt: new Date().toISOString(),
        attempts: 0,
      },
      60,
    );
    await queue.enqueue(data, { attempts: 1 });
    const events = await live.done(data.runId);

    expect(events.map(brief)).toEqual([
      "status:running#1",
      "status:running",
      "status:running",
      "delta:tool_call",
      "delta:tool_result",
      "delta:checkpoint",
      "delta:tool_call",
      "delta:tool_result",
      "delta:checkpoint",
      "status:running",
      ...Array(12).fill("token"),
      "done:stop",
    ]);
    expect(events[3]?.content).toEqual({
      kind: "tool_call",
      toolCallId: "call_1",
      name: "word_count",
      args: { text: "Stream this, please" },
    });
    expect(events[4]?.content).toMatchObject({
      kind: "tool_result",
      result: { words: 3, characters: 19, lines: 1 },
    });
    expect(events[5]?.content).toEqual({
      kind: "checkpoint",
      step: 1,
      state: { counts: { words: 3, characters: 19, lines: 1 } },
    });
    expect(events[6]?.content).toMatchObject({
      kind: "tool_call",
      name: "calculator",
      args: { expression: "round(3 / 200 * 60 * 10) / 10" },
    });
    expect(events[7]?.content).toMatchObject({ kind: "tool_result", result: { result: 0.9 } });
    expectGapFree(events, data.runId);
    const text = events
      .filter((e) => e.type === "token")
      .map((e) => e.content)
      .join("");
    expect(events.at(-1)?.content).toEqual({
      finishReason: "stop",
      usage: { inputTokens: 3, outputTokens: 12 },
      output: { text },
    });

    const log = await readLog(t.client, threadId, "0", 100);
    expect(log.entries.map((e) => JSON.parse(e.json))).toEqual(events);

    const record = await eventually(
      () => runs.get(threadId, data.runId),
      (r) => r?.status === "completed",
      "the run record to be completed",
      SOON,
    );
    expect(record).toMatchObject({ status: "completed", attempts: 1, output: { text } });
    expect(Date.parse(record!.startedAt!)).toBeLessThanOrEqual(Date.parse(record!.finishedAt!));

    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('threadline_worker_jobs_total{outcome="completed"} 1');
    expect(metrics).toContain('threadline_worker_events_published_total{type="token"} 12');
    expect(metrics).toMatch(/threadline_worker_queue_jobs\{state="completed"\} 1/);
    expect(metrics).toContain("threadline_worker_time_to_first_token_seconds_count 1");
    expect(metrics).toContain("threadline_worker_process_cpu_seconds_total");
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "NOT_FOUND", message: "no route for GET /nope" } });
  });

  it("cancels a running run through the control channel within 1 s and takes the next job", async () => {
    const { queue } = await startWorker({ WORKER_CONCURRENCY: "1" });
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const slow = jobData(threadId, "demo", { prompt: "slow", tokensPerSecond: 20, maxTokens: 1000 });
    const runs = createRunRecords(t.client);
    await seedRunRecord(
      t.client,
      {
        runId: slow.runId,
        threadId,
        agent: "demo",
        status: "queued",
        createdAt: new Date().toISOString(),
        attempts: 0,
      },
      60,
    );
    await queue.enqueue(slow, { attempts: 3 });
    await live.until((e) => e.filter((x) => x.type === "token").length >= 3);
    const sentAt = performance.now();
    await cancel(threadId, slow.runId, "cancelled by tester");
    const events = await live.done(slow.runId, 1_000);
    expect(performance.now() - sentAt).toBeLessThan(1_000);
    expect(events.slice(-2).map((e) => e.content)).toEqual([
      { state: "cancelled", message: "cancelled by tester" },
      { finishReason: "cancelled" },
    ]);
    expectGapFree(events, slow.runId);
    // Completed (not failed): a cancel is never retried.
    await expect
      .poll(() => queue.queue.getJobState(slow.runId), { timeout: SOON.timeoutMs, interval: SOON.intervalMs })
      .toBe("completed");
    const record = await eventually(
      () => runs.get(threadId, slow.runId),
      (r) => r?.status === "cancelled",
      "the run record to be cancelled",
      SOON,
    );
    expect(record?.finishedAt).toBeDefined();

    const next = jobData(threadId, "demo", { prompt: "next", tokensPerSecond: 0, maxTokens: 5 });
    await queue.enqueue(next);
    const after = await live.done(next.runId);
    expect(after.filter((e) => e.runId === next.runId).at(-1)?.content).toMatchObject({
      finishReason: "stop",
    });
  });

  it("cancels an agent that ignores its abort signal", async () => {
    const { queue } = await startWorker();
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const data = jobData(threadId, "stubborn", {});
    await queue.enqueue(data);
    await live.until((e) => e.some((x) => x.type === "token"));
    // Garbage on the control channel is dropped without harm.
    await t.client.publish(keys.controlChannel(), "not json");
    await t.client.publish(keys.controlChannel(), JSON.stringify({ type: "cancel", runId: "no thread" }));
    await cancel(threadId, data.runId);
    const events = await live.done(data.runId, 1_000);
    expect(events.map(brief)).toEqual(["status:running#1", "token", "status:cancelled", "done:cancelled"]);
  });

  it("retries a retryable failure: error, status retrying attempt 2, gap-free seq, completed", async () => {
    const { queue } = await startWorker();
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const data = jobData(threadId, "flaky", { text: "second time lucky" });
    const runs = createRunRecords(t.client);
    await seedRunRecord(
      t.client,
      {
        runId: data.runId,
        threadId,
        agent: "flaky",
        status: "queued",
        createdAt: new Date().toISOString(),
        attempts: 0,
      },
      60,
    );
    await queue.enqueue(data, { attempts: 3, backoff: { type: "fixed", delay: 50 } });
    const events = await live.done(data.runId);
    expect(events.map(brief)).toEqual([
      "status:running#1",
      "token",
      "error:UPSTREAM_UNAVAILABLE",
      "status:retrying#2",
      "token",
      "token",
      "done:stop",
    ]);
    expect(events[2]?.content).toEqual({
      code: "UPSTREAM_UNAVAILABLE",
      message: "provider answered 503",
      retryable: true,
    });
    expect(events[4]?.content).toBe("attempt 2: ");
    expectGapFree(events, data.runId);
    const record = await eventually(
      () => runs.get(threadId, data.runId),
      (r) => r?.status === "completed",
      "the run record to be completed",
      SOON,
    );
    expect(record).toMatchObject({ attempts: 2, output: { text: "second time lucky" } });
  });

  it("fails a non-retryable error at once: error, status failed, done error, no retry", async () => {
    const { queue } = await startWorker();
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const data = jobData(threadId, "broken", {});
    const runs = createRunRecords(t.client);
    await seedRunRecord(
      t.client,
      {
        runId: data.runId,
        threadId,
        agent: "broken",
        status: "queued",
        createdAt: new Date().toISOString(),
        attempts: 0,
      },
      60,
    );
    await queue.enqueue(data, { attempts: 5, backoff: { type: "fixed", delay: 10 } });
    const events = await live.done(data.runId);
    expect(events.map(brief)).toEqual([
      "status:running#1",
      "token",
      "error:AUTH_FAILED",
      "status:failed#1",
      "done:error",
    ]);
    expect(events[2]?.content).toMatchObject({ retryable: false });
    const job = await eventually(
      () => queue.queue.getJob(data.runId),
      (j) => j?.finishedOn !== undefined,
      "the job to finish",
      SOON,
    );
    expect(await job?.getState()).toBe("failed");
    expect(job?.attemptsMade).toBe(1);
    expect(await runs.get(threadId, data.runId)).toMatchObject({
      status: "failed",
      error: { code: "AUTH_FAILED", retryable: false },
    });
  });

  it("fails jobs it cannot run without retrying: invalid job data, unknown agent, bad input", async () => {
    const { queue } = await startWorker();
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const invalid = { runId: uniqueId("run"), threadId, agent: "", input: {}, owner: "x" };
    await queue.queue.add("run", invalid as never, { jobId: invalid.runId, attempts: 3 });
    const unknown = jobData(threadId, "gpt-9", {});
    await queue.enqueue(unknown, { attempts: 3 });
    const badInput = jobData(threadId, "demo", { prompt: 42 });
    await queue.enqueue(badInput, { attempts: 3 });
    await live.done(invalid.runId);
    await live.done(unknown.runId);
    const events = await live.done(badInput.runId);
    const of = (runId: string) => events.filter((e) => e.runId === runId);
    expect(of(invalid.runId).map(brief)).toEqual(["error:INVALID_JOB", "status:failed", "done:error"]);
    expect(of(unknown.runId).map(brief)).toEqual([
      "status:running#1",
      "error:UNKNOWN_AGENT",
      "status:failed#1",
      "done:error",
    ]);
    expect(of(badInput.runId).map(brief)).toEqual([
      "status:running#1",
      "error:INVALID_INPUT",
      "status:failed#1",
      "done:error",
    ]);
    expect(of(badInput.runId)[1]?.content).toMatchObject({
      message: expect.stringContaining("input.prompt"),
    });
    for (const runId of [invalid.runId, unknown.runId, badInput.runId]) {
      const job = await eventually(
        () => queue.queue.getJob(runId),
        (j) => j?.finishedOn !== undefined,
        "the job to finish",
        SOON,
      );
      expect(job?.attemptsMade).toBe(1);
      expect(await job?.getState()).toBe("failed");
    }
  });

  it("coalesces consecutive tokens: the same text in far fewer events", async () => {
    const off = await startWorker({ TOKEN_COALESCE_MS: "0" });
    const on = await startWorker({ TOKEN_COALESCE_MS: "5" });
    const results = [];
    for (const { queue } of [off, on]) {
      const threadId = uniqueId("th");
      const live = await watch(threadId);
      const data = jobData(threadId, "demo", { prompt: "coalesce", tokensPerSecond: 0, maxTokens: 2_000 });
      await queue.enqueue(data);
      const events = await live.done(data.runId);
      expectGapFree(events, data.runId);
      const tokens = events.filter((e) => e.type === "token").map((e) => e.content as string);
      const done = events.at(-1)?.content as { output: { text: string } };
      expect(tokens.join("")).toBe(done.output.text);
      // running#1, 2 plan statuses, 2 tool steps (call, result, checkpoint), then the answer's status.
      expect(events.slice(0, 10).map(brief).slice(-1)).toEqual(["status:running"]);
      results.push({ tokens: tokens.length, text: done.output.text });
    }
    expect(results[0]?.tokens).toBe(2_000);
    expect(results[1]?.text).toBe(results[0]?.text);
    expect(results[1]?.tokens).toBeLessThan(200);
  });

  it("cancels a run with onDisconnect once its thread has had no watcher for cancelAfterMs", async () => {
    const { queue } = await startWorker({}, 100);
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const started = Date.now();
    // A gateway stream whose registration expires in 1.5 s (as if its client went away).
    await t.client.zadd(keys.threadWatchers(threadId), started + 1_500, "gateway-1:stream-1");
    const data = jobData(
      threadId,
      "demo",
      { prompt: "watch me", tokensPerSecond: 20, maxTokens: 1000 },
      { onDisconnect: { cancelAfterMs: 1_000 } },
    );
    await queue.enqueue(data);
    const events = await live.done(data.runId, 6_000);
    const elapsed = Date.now() - started;
    // Idle counts from the last check that still saw the watcher: up to one check interval (100 ms,
    // more when a timer fires late) before its expiry at 1.5 s, then cancelAfterMs.
    expect(elapsed).toBeGreaterThanOrEqual(2_300);
    expect(elapsed).toBeLessThan(3_500);
    expect(events.slice(-2).map(brief)).toEqual(["status:cancelled", "done:cancelled"]);
    expect(events.at(-2)?.content).toMatchObject({ message: expect.stringContaining("onDisconnect") });
  });

  it("close(): not ready any more, the active run finishes within the grace period", async () => {
    const { worker, queue, port } = await startWorker({ WORKER_GRACE_MS: "5000" });
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const data = jobData(threadId, "demo", { prompt: "finish", tokensPerSecond: 40, maxTokens: 20 });
    await queue.enqueue(data);
    await live.until((e) => e.some((x) => x.type === "token"));
    const closed = worker.close();
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ error: { code: "NOT_READY", message: "shutting down" } });
    await closed;
    expect(worker.activeCount()).toBe(0);
    expect(live.events.filter((e) => e.type === "token")).toHaveLength(20);
    expect(live.events.at(-1)?.content).toMatchObject({ finishReason: "stop" });
  });

  it("fails a job that stalled more than MAX_STALLED_COUNT times and tells its clients", async () => {
    const prefix = newPrefix();
    const queue = openQueue(t.redis.url, prefix);
    t.cleanups.push(() => queue.close());
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const data = jobData(threadId, "demo", { prompt: "doomed" });
    await queue.enqueue(data, { attempts: 3 });
    // A worker that takes the job and dies (its lock is never renewed).
    const connection = createRedisClient({ url: t.redis.url }, { name: "test-dead-worker", bullmq: true });
    const dead = new Worker(RUNS_QUEUE_NAME, null, { connection, prefix, autorun: false, lockDuration: 300 });
    expect((await dead.getNextJob("dead-token"))?.id).toBe(data.runId);
    await dead.close();
    await closeRedisClient(connection);

    const worker = buildTestWorker(
      testWorkerConfig(t.redis.url, prefix, {
        MAX_STALLED_COUNT: "0",
        STALLED_INTERVAL_MS: "200",
        LOCK_DURATION_MS: "300",
      }),
      { log: silentLog, agents: testRegistry() },
    );
    t.cleanups.push(() => worker.close());
    await worker.start();
    const events = await live.done(data.runId);
    expect(events.map(brief)).toEqual(["error:RUN_STALLED", "status:failed", "done:error"]);
    expect(events[0]?.content).toMatchObject({
      retryable: false,
      message: expect.stringContaining("stalled"),
    });
    expect(await queue.queue.getJobState(data.runId)).toBe("failed");
  });

  it("drops a job whose run already ended (e.g. cancelled while a retry was pending)", async () => {
    const { queue } = await startWorker();
    const threadId = uniqueId("th");
    const live = await watch(threadId);
    const data = jobData(threadId, "demo", { prompt: "too late" });
    const runs = createRunRecords(t.client);
    const createdAt = new Date().toISOString();
    await seedRunRecord(
      t.client,
      { runId: data.runId, threadId, agent: "demo", status: "cancelled", createdAt, attempts: 1 },
      60,
    );
    await queue.enqueue(data);
    await expect
      .poll(() => queue.queue.getJobState(data.runId), { timeout: SOON.timeoutMs, interval: SOON.intervalMs })
      .toBe("completed");
    expect(live.events).toEqual([]);
    expect(await runs.get(threadId, data.runId)).toMatchObject({ status: "cancelled", attempts: 1 });
  });

  it("takes the archive's pool as a dependency and refuses a config that disagrees with it", async () => {
    const prefix = newPrefix();
    const off = testWorkerConfig(t.redis.url, prefix);
    // postgres.js connects on the first query: nothing listens here and nothing is asked.
    const on = testWorkerConfig(t.redis.url, prefix, {
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
    });
    const withPool = connectWorkerDeps(on, silentLog);
    const withoutPool = connectWorkerDeps(off, silentLog);
    t.cleanups.push(
      () => withPool.close(),
      () => withoutPool.close(),
    );
    expect(withPool.archive).toBeDefined();
    expect(withoutPool.archive).toBeUndefined();
    const deps = { log: silentLog, agents: testRegistry() };
    expect(() => buildWorker(on, { ...withoutPool, ...deps })).toThrow(
      "the archive is on (config.archive) but no archive connection was given (deps.archive)",
    );
    expect(() => buildWorker(off, { ...withPool, ...deps })).toThrow(
      "an archive connection was given (deps.archive) but the archive is off (config.archive)",
    );
  });
});
