import {
  createEventPublisher,
  createRedisClient,
  createRunLifecycle,
  createRunRecords,
  type InvalidRunRecord,
  keys,
} from "@threadline/redis";
import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createMergedLog } from "./merged-log.js";
import { createThreadMemory } from "./thread-memory.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

describe("thread memory (real Redis, no archive)", () => {
  it("gives a run its thread's finished earlier turns, and never reads the run's own record", async () => {
    const invalid: InvalidRunRecord[] = [];
    const memory = createThreadMemory({
      runs: createRunRecords(t.client, { onInvalid: (i) => invalid.push(i) }),
      readPage: createMergedLog(t.client, undefined),
      budget: { maxTurns: 20, maxChars: 20_000 },
    });
    const lifecycle = createRunLifecycle(t.client, { logMaxLen: 1_000, logTtlSeconds: 60 });
    const publisher = createEventPublisher(t.client, { logMaxLen: 1_000, logTtlSeconds: 60 });
    const threadId = uniqueId();
    const first = { threadId, runId: "r1" };
    await lifecycle.start({ ...first, agent: "demo", input: { prompt: "capital of France?" } });
    await lifecycle.running(first, 1, new Date().toISOString());
    await publisher.publish(first, { type: "token", content: "Paris." }, { attempt: 1 });
    await lifecycle.complete(first, { finishReason: "stop" }, 1);
    // The current run: a record that does not decode, so reading it would be reported.
    await lifecycle.start({ threadId, runId: "r2", agent: "demo", input: { prompt: "and Italy?" } });
    await t.client.hdel(keys.run(threadId, "r2"), "agent");

    expect(await memory(threadId, "r2")).toEqual([
      { role: "user", content: "capital of France?" },
      { role: "assistant", content: "Paris." },
    ]);
    expect(invalid).toEqual([]);
    // A new thread's first run has no earlier turns.
    expect(await memory(uniqueId(), "r1")).toEqual([]);
  });
});
