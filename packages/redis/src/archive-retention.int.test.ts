import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { recordArchiveProgress } from "./archive-retention.js";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createEventPublisher } from "./publisher.js";
import { createThreadMeta } from "./thread-meta.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

const MAXLEN = 10;
const claim = { createdAt: "2026-01-01T00:00:00.000Z", ttlSeconds: 600 };

async function publishTokens(threadId: string, count: number): Promise<string[]> {
  const publisher = createEventPublisher(t.client, { logMaxLen: MAXLEN, logTtlSeconds: 600 });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    // ~300-byte entries: a stream node (4 KiB) holds a dozen, so MAXLEN ~ 10 trims within this test.
    const content = `token ${i} ${"x".repeat(280)}`;
    ids.push((await publisher.publish({ threadId, runId: "r1" }, { type: "token", content })).id);
  }
  return ids;
}

const logIds = async (threadId: string) =>
  (await t.client.xrange(keys.threadLog(threadId), "-", "+")).map(([id]) => id);

describe("the log keeps what the archive has not copied (real Redis)", () => {
  it("without the archive, the log is trimmed to about LOG_MAXLEN", async () => {
    const threadId = uniqueId();
    await createThreadMeta(t.client).claimOwner(threadId, "alice", claim);
    await publishTokens(threadId, 60);
    expect((await logIds(threadId)).length).toBeLessThan(40);
  });

  it("with the archive following, nothing past its cursor is trimmed; once copied, it is", async () => {
    const threadId = uniqueId();
    await createThreadMeta(t.client, { archiveFollows: true }).claimOwner(threadId, "alice", claim);
    const ids = await publishTokens(threadId, 60);
    // Nothing archived yet: all 60 kept (under the 10 x LOG_MAXLEN bound).
    expect(await logIds(threadId)).toEqual(ids);

    expect(await recordArchiveProgress(t.client, threadId, ids[49] as string)).toBe(10);
    const more = await publishTokens(threadId, 30);
    const kept = await logIds(threadId);
    expect(kept.length).toBeLessThan(60);
    // The archive's cursor entry (readers check continuity against it) and all after it survived.
    expect(kept.slice(kept.indexOf(ids[49] as string))).toEqual([...ids.slice(49), ...more]);
  });

  it("a stalled archive holds the log to 10 x LOG_MAXLEN, no more", async () => {
    const threadId = uniqueId();
    await createThreadMeta(t.client, { archiveFollows: true }).claimOwner(threadId, "alice", claim);
    const ids = await publishTokens(threadId, 160);
    const kept = await logIds(threadId);
    expect(kept.length).toBeGreaterThanOrEqual(10 * MAXLEN);
    expect(kept.length).toBeLessThan(160);
    expect(kept).toEqual(ids.slice(-kept.length));
  });

  it("progress on a thread claimed before the archive followed it counts what the log holds past the cursor", async () => {
    const threadId = uniqueId();
    await createThreadMeta(t.client).claimOwner(threadId, "alice", claim);
    const ids = await publishTokens(threadId, 8);
    expect(await recordArchiveProgress(t.client, threadId, "0")).toBe(8);
    expect(await recordArchiveProgress(t.client, threadId, ids[2] as string)).toBe(5);
    const later = await publishTokens(threadId, 30);
    expect((await logIds(threadId)).slice(-35)).toEqual([...ids.slice(3), ...later]);
  });

  it("leaves a thread without meta alone (it would create a key nothing expires)", async () => {
    const threadId = uniqueId();
    expect(await recordArchiveProgress(t.client, threadId, "0")).toBe(-1);
    expect(await t.client.exists(keys.threadMeta(threadId))).toBe(0);
  });
});
