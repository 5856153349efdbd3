import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedisClient, createRedisClient } from "./connections.js";
import { createRunsQueue, RUN_JOB_NAME, RUNS_QUEUE_NAME, type RunsQueue } from "./runs-queue.js";

let redis: TestRedis;
let runs: RunsQueue;
let prefix: string;

beforeAll(async () => {
  redis = await getTestRedis();
  prefix = `{${uniqueId("q")}}`;
  runs = createRunsQueue({ url: redis.url, queuePrefix: prefix });
});
afterAll(async () => {
  await runs.close();
  await redis.stop();
});

const data = (runId: string) => ({
  runId,
  threadId: "th",
  agent: "demo",
  input: { prompt: "hi" },
  owner: "alice",
});

describe("runs queue (real Redis, real BullMQ)", () => {
  it("enqueues a run once, under its run id, with the given attempts", async () => {
    const runId = uniqueId("r");
    await runs.enqueue(data(runId), { attempts: 5, backoff: { type: "fixed", delay: 10 } });
    await runs.enqueue(data(runId), { attempts: 5 });
    const job = await runs.queue.getJob(runId);
    expect(job?.name).toBe(RUN_JOB_NAME);
    expect(job?.data).toEqual(data(runId));
    expect(job?.opts.attempts).toBe(5);
    expect(runs.queue.name).toBe(RUNS_QUEUE_NAME);
    expect(await runs.queue.getWaitingCount()).toBeGreaterThanOrEqual(1);
    expect(await runs.removeQueued(runId)).toBe("removed");
    expect(await runs.queue.getJob(runId)).toBeUndefined();
    expect(await runs.removeQueued(runId)).toBe("missing");
  });

  it("refuses to remove a job a worker holds", async () => {
    const runId = uniqueId("r");
    await runs.queue.drain();
    await runs.enqueue(data(runId));
    const connection = createRedisClient({ url: redis.url }, { name: "test-worker", bullmq: true });
    const worker = new Worker(RUNS_QUEUE_NAME, null, { connection, prefix, autorun: false });
    const job = await worker.getNextJob("token-1");
    expect(job?.id).toBe(runId);
    expect(await runs.removeQueued(runId)).toBe("active");
    await job?.moveToCompleted("ok", "token-1", false);
    expect(await runs.removeQueued(runId)).toBe("finished");
    await worker.close();
    await closeRedisClient(connection);
  });
});
