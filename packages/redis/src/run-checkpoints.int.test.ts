import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createEventPublisher } from "./publisher.js";
import { readLatestCheckpoint } from "./run-checkpoints.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

describe("readLatestCheckpoint (real Redis)", () => {
  it("returns the run's newest valid checkpoint, skipping malformed entries and other runs' checkpoints", async () => {
    const threadId = uniqueId("th");
    const runId = uniqueId("run");
    const publisher = createEventPublisher(t.client, { logMaxLen: 1_000, logTtlSeconds: 60 });
    const publish = (content: Record<string, unknown>, run = runId) =>
      publisher.publish(
        { threadId, runId: run },
        { type: "delta", content: { kind: "checkpoint", ...content } },
      );
    await publisher.publish({ threadId, runId }, { type: "status", content: { state: "queued" } });
    await publish({ step: 1, state: { turns: 1 } });
    await publish({ step: 2, state: { turns: 2 } });
    // Entries a reader must not take for a checkpoint: a step that is not a positive integer, an
    // entry that is not JSON, another run's checkpoint.
    await publish({ step: "3", state: {} });
    await publish({ step: 0, state: {} });
    await t.client.xadd(keys.threadLog(threadId), "*", "e", "{not json");
    await publish({ step: 9, state: {} }, uniqueId("other"));

    expect(await readLatestCheckpoint(t.client, threadId, runId)).toEqual({ step: 2, state: { turns: 2 } });
  });

  it("is undefined for a run without a checkpoint: it stops at the run's first event", async () => {
    const threadId = uniqueId("th");
    const publisher = createEventPublisher(t.client, { logMaxLen: 1_000, logTtlSeconds: 60 });
    const earlier = uniqueId("run");
    const runId = uniqueId("run");
    // A checkpoint logged before the run's `status queued` is not the run's (a reused run id).
    await publisher.publish(
      { threadId, runId },
      { type: "delta", content: { kind: "checkpoint", step: 1, state: {} } },
    );
    await publisher.publish({ threadId, runId: earlier }, { type: "token", content: "x" });
    await publisher.publish({ threadId, runId }, { type: "status", content: { state: "queued" } });
    await publisher.publish({ threadId, runId }, { type: "token", content: "y" });

    expect(await readLatestCheckpoint(t.client, threadId, runId)).toBeUndefined();
    expect(await readLatestCheckpoint(t.client, threadId, uniqueId("none"))).toBeUndefined();
  });
});
