import { ControlMessage } from "@threadline/protocol";
import {
  createEventPublisher,
  createRedisClient,
  createRunLifecycle,
  createRunRecords,
  keys,
  readLog,
  subscribeThread,
} from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { type Job, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness();
});
afterAll(async () => {
  await h?.close();
});

async function createRun(threadId: string) {
  const res = await h.app.inject({
    method: "POST",
    url: `/v1/threads/${threadId}/runs`,
    headers: { authorization: h.bearer("alice") },
    payload: { input: { prompt: "hello" } },
  });
  expect(res.statusCode).toBe(202);
  return res.json().runId as string;
}

function cancel(threadId: string, runId: string, sub = "alice") {
  return h.app.inject({
    method: "POST",
    url: `/v1/threads/${threadId}/runs/${runId}/cancel`,
    headers: { authorization: h.bearer(sub) },
  });
}

/** Collects messages of a channel on a dedicated connection. */
async function listen(channel: "control" | string) {
  const messages: string[] = [];
  if (channel === "control") {
    const sub = createRedisClient({ url: h.redisUrl }, { name: "test-control" });
    sub.on("message", (_ch: string, m: string) => messages.push(m));
    await sub.subscribe(keys.controlChannel());
    return { messages, close: async () => sub.disconnect() };
  }
  const sub = subscribeThread(createRedisClient({ url: h.redisUrl }, { name: "test-thread" }), channel, {
    onMessage: (raw) => messages.push(raw.toString()),
  });
  await sub.ready;
  return { messages, close: () => sub.close() };
}

/** How long a published message or a taken job may take to show, and how often to look. */
const ARRIVAL = { timeout: 5_000, interval: 10 };

describe("POST /v1/threads/:threadId/runs/:runId/cancel", () => {
  it("ends a queued run at once: job removed, status cancelled + done cancelled published, record cancelled", async () => {
    const threadId = uniqueId();
    const runId = await createRun(threadId);
    const live = await listen(threadId);
    const control = await listen("control");

    const res = await cancel(threadId, runId);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ runId, threadId, status: "cancelled" });

    await expect.poll(() => [live.messages.length, control.messages.length], ARRIVAL).toEqual([2, 1]);
    await live.close();
    await control.close();
    expect(live.messages.map((m) => JSON.parse(m))).toEqual([
      expect.objectContaining({ type: "status", runId, seq: 2, content: { state: "cancelled" } }),
      expect.objectContaining({ type: "done", runId, seq: 3, content: { finishReason: "cancelled" } }),
    ]);
    expect(ControlMessage.parse(JSON.parse(control.messages[0]!))).toMatchObject({
      type: "cancel",
      threadId,
      runId,
    });
    expect(await h.queue.queue.getJob(runId)).toBeUndefined();
    const log = await readLog(h.redis, threadId, "0", 10);
    expect(log.entries.map((e) => e.json)).toEqual([expect.stringContaining('"queued"'), ...live.messages]);
    const run = await createRunRecords(h.redis).get(threadId, runId);
    expect(run).toMatchObject({ status: "cancelled", finishedAt: expect.any(String) });
  });

  it("409 RUN_FINISHED for a finished run, including a second cancel", async () => {
    const threadId = uniqueId();
    const runId = await createRun(threadId);
    expect((await cancel(threadId, runId)).statusCode).toBe(202);
    const again = await cancel(threadId, runId);
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: "RUN_FINISHED", details: { status: "cancelled" } });

    const completedId = await createRun(threadId);
    const lifecycle = createRunLifecycle(h.redis, { logMaxLen: 1000, logTtlSeconds: 60 });
    await lifecycle.complete({ threadId, runId: completedId }, { finishReason: "stop" }, 1);
    const completed = await cancel(threadId, completedId);
    expect(completed.statusCode).toBe(409);
    expect(completed.json().error.message).toContain("completed");
  });

  it("asks the worker holding a running job to abort it (control channel), leaving its events to the worker", async () => {
    const threadId = uniqueId();
    const runId = await createRun(threadId);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const taken = new Set<string | undefined>();
    const connection = createRedisClient({ url: h.redisUrl }, { name: "test-worker", bullmq: true });
    const worker = new Worker(
      "runs",
      async (job: Job) => {
        taken.add(job.id);
        await held;
      },
      // Other tests left waiting jobs in this queue: take them all so ours is reached.
      { connection, prefix: h.config.redis.queuePrefix, concurrency: 50 },
    );
    try {
      await expect.poll(() => taken.has(runId), ARRIVAL).toBe(true);
      const control = await listen("control");
      const res = await cancel(threadId, runId);
      expect(res.statusCode).toBe(202);
      expect(res.json().status).toBe("cancelling");
      await expect.poll(() => control.messages.length, ARRIVAL).toBe(1);
      await control.close();
      expect(JSON.parse(control.messages[0]!)).toMatchObject({ type: "cancel", threadId, runId });
      // The API published nothing itself: the worker owns the run's ending.
      expect((await readLog(h.redis, threadId, "0", 10)).entries).toHaveLength(1);
    } finally {
      release();
      await worker.close();
      connection.disconnect();
    }
  });

  it("404 for an unknown run and 403 for another subject", async () => {
    const threadId = uniqueId();
    const runId = await createRun(threadId);
    const unknown = await cancel(threadId, "run_unknown");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe("RUN_NOT_FOUND");
    expect((await cancel(threadId, runId, "mallory")).statusCode).toBe(403);
    expect(await h.queue.queue.getJob(runId)).toBeDefined();
  });
});

describe("GET /v1/threads/:threadId/events", () => {
  it("pages through the replay log with nextAfter, and flags a position that is gone", async () => {
    const threadId = uniqueId();
    const runId = await createRun(threadId);
    const publisher = createEventPublisher(h.redis, { logMaxLen: 1000, logTtlSeconds: 60 });
    for (let i = 0; i < 4; i++)
      await publisher.publish({ threadId, runId }, { type: "token", content: `t${i}` });
    const auth = { authorization: h.bearer("alice") };

    const first = await h.app.inject({
      url: `/v1/threads/${threadId}/events?after=0&limit=3`,
      headers: auth,
    });
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    expect(page1).toMatchObject({ truncated: false, more: true, nextAfter: page1.events[2].id });
    expect(page1.events[1]).toMatchObject({
      type: "token",
      threadId,
      runId,
      content: "t0",
      id: expect.stringMatching(/^\d+-\d+$/),
    });

    const second = (
      await h.app.inject({ url: `/v1/threads/${threadId}/events?after=${page1.nextAfter}`, headers: auth })
    ).json();
    expect(second.events.map((e: { seq: number }) => e.seq)).toEqual([4, 5]);
    expect(second).toMatchObject({ truncated: false, more: false, nextAfter: second.events[1].id });

    const tail = (
      await h.app.inject({ url: `/v1/threads/${threadId}/events?after=${second.nextAfter}`, headers: auth })
    ).json();
    expect(tail).toEqual({ events: [], nextAfter: second.nextAfter, truncated: false, more: false });

    const gone = (
      await h.app.inject({ url: `/v1/threads/${threadId}/events?after=1-0`, headers: auth })
    ).json();
    expect(gone.truncated).toBe(true);
    expect(gone.events).toHaveLength(5);
  });
});
