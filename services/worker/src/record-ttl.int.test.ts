import type { RunView } from "@threadline/protocol";
import { createRunRecords, keys } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import {
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

const t = useWorkerRedis();

describe("a live run's record outlives LOG_TTL_SECONDS (real Redis, real BullMQ)", () => {
  it("a run streaming for 3× the TTL with no transition in between never answers 404, and ends with its record", async () => {
    const ttlSeconds = 1;
    const prefix = newPrefix();
    const worker = buildTestWorker(
      testWorkerConfig(t.redis.url, prefix, { LOG_TTL_SECONDS: String(ttlSeconds) }),
      {
        log: silentLog,
        agents: testRegistry(),
      },
    );
    await worker.start();
    const queue = openQueue(t.redis.url, prefix);
    const threadId = uniqueId("th");
    const live = await watchThread(t.redis.url, threadId);
    t.cleanups.push(
      () => worker.close(),
      () => queue.close(),
      () => live.close(),
    );
    const runs = createRunRecords(t.client);
    // ~3 s of tokens: the events renew the log's TTL, and only the `running` transition and `done`
    // touch the record.
    const data = jobData(threadId, "demo", { prompt: "outlive the ttl", tokensPerSecond: 20, maxTokens: 60 });
    const queued: RunView = {
      runId: data.runId,
      threadId,
      agent: "demo",
      status: "queued",
      createdAt: new Date().toISOString(),
      attempts: 0,
    };
    // The `running` transition sets the record's TTL to LOG_TTL_SECONDS, whatever the API gave it.
    await seedRunRecord(t.client, queued, 60);
    await queue.enqueue(data, { attempts: 1 });
    await live.until((events) => events.some((e) => e.type === "token"));

    const seen: string[] = [];
    while (!live.events.some((e) => e.type === "done")) {
      seen.push((await runs.get(threadId, data.runId))?.status ?? "404");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((s) => s !== "running")).toEqual([]);
    expect(await runs.get(threadId, data.runId)).toMatchObject({ status: "completed" });
    // Still expiring with the thread: renewed, never made permanent.
    expect(await t.client.ttl(keys.run(threadId, data.runId))).toBeGreaterThan(0);
  });
});
