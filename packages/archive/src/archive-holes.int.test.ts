import { createEventPublisher, createRunRecords, keys } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createArchiveWriter } from "./archive-writer.js";
import { useArchiveFixture } from "./test-support/archive-fixture.js";

// No archiver loop runs in this file: each test copies by hand, after shaping the log.
const fx = useArchiveFixture();

describe("archivedAt means every event (real Redis + PostgreSQL)", () => {
  it("a finished run whose first events the log lost before any copy is never marked archived", async () => {
    const threadId = uniqueId();
    const runs = createRunRecords(fx.redis);
    const publisher = createEventPublisher(fx.redis, { logMaxLen: 100_000, logTtlSeconds: 600 });
    const writer = createArchiveWriter({ sql: fx.sql, redis: fx.redis, runs, batchSize: 50 });
    const lost = uniqueId("run");
    const whole = uniqueId("run");
    const run = async (runId: string) => {
      await publisher.publish(
        { threadId, runId },
        { type: "status", content: { state: "running", attempt: 1 } },
      );
      for (let i = 0; i < 5; i++)
        await publisher.publish({ threadId, runId }, { type: "token", content: `t${i}` });
      await publisher.publish({ threadId, runId }, { type: "done", content: { finishReason: "stop" } });
    };
    await run(lost);
    // The log loses the first run's first three events before the archive saw any of them.
    await fx.redis.xtrim(keys.threadLog(threadId), "MAXLEN", 4);
    await run(whole);

    const copy = await writer.copyThread(threadId);
    expect(copy.finishedRuns).toEqual([whole]);
    expect(copy.incompleteRuns).toEqual([{ runId: lost, missing: 3 }]);
    expect((await fx.reader.getRun(threadId, lost))?.archivedAt).toBeUndefined();
    expect((await fx.reader.getRun(threadId, whole))?.archivedAt).toEqual(expect.any(String));
  });
});
