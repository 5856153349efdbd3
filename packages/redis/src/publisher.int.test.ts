import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseChannelMessage } from "@threadline/protocol";
import { uniqueId, useTestRedis } from "@threadline/testing";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createArchiveFeed, withArchiveFeed } from "./archive-feed.js";
import { closeRedisClient, createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { createEventPublisher } from "./publisher.js";
import { readLog, readLogAfter } from "./replay-log.js";
import { subscribeThread } from "./subscribe-thread.js";

const exec = promisify(execFile);
const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

function collect(threadId: string) {
  const messages: string[] = [];
  const sub = subscribeThread(createRedisClient({ url: t.redis.url }, { name: "test-sub" }), threadId, {
    onMessage: (raw) => messages.push(raw.toString()),
  });
  return { messages, sub };
}

/** How long a live message may take to arrive, and how often to look. */
const ARRIVAL = { timeout: 5_000, interval: 10 };

describe("publish script (real Redis)", () => {
  it("puts byte-identical events with the same ids in the log and on the live channel", async () => {
    const threadId = uniqueId();
    const { messages, sub } = collect(threadId);
    await sub.ready;
    const publisher = createEventPublisher(t.client, { logMaxLen: 1000, logTtlSeconds: 60 });
    const published = [];
    published.push(
      await publisher.publish({ threadId, runId: "r1" }, { type: "status", content: { state: "running" } }),
    );
    published.push(
      await publisher.publish({ threadId, runId: "r1" }, { type: "token", content: 'he said "hi"\n🧵' }),
    );
    published.push(
      await publisher.publish({ threadId, runId: "r1" }, { type: "done", content: { finishReason: "stop" } }),
    );
    await expect.poll(() => messages.length, ARRIVAL).toBe(3);
    await sub.close();

    const page = await readLog(t.client, threadId, "0", 100);
    expect(page.truncated).toBe(false);
    expect(page.entries.map((e) => e.json)).toEqual(messages);
    expect(page.entries.map((e) => e.id)).toEqual(published.map((p) => p.id));
    expect(published.map((p) => p.seq)).toEqual([1, 2, 3]);
    // Read after a position: the entry AT it comes back as `anchor`, byte-identical to the live message.
    const after = await readLogAfter(t.client, threadId, published[0]!.id, 100);
    expect(after.anchor).toBe(messages[0]);
    expect(after.page.entries.map((e) => e.json)).toEqual(messages.slice(1));
    const gone = await readLogAfter(t.client, threadId, "1-0", 100);
    expect([gone.anchor, gone.page.truncated]).toEqual([undefined, true]);
    const parsed = messages.map((m) => parseChannelMessage(keys.threadChannel(threadId), m));
    expect(parsed.every((p) => p.ok)).toBe(true);
    expect(JSON.parse(messages[1]!)).toMatchObject({
      id: published[1]!.id,
      seq: 2,
      runId: "r1",
      threadId,
      content: 'he said "hi"\n🧵',
    });
  });

  it("keeps seq gap-free under 8 concurrent publishers for one run", async () => {
    const threadId = uniqueId();
    const clients = Array.from({ length: 8 }, () =>
      createRedisClient({ url: t.redis.url }, { name: "test-pub" }),
    );
    const publishers = clients.map((c) => createEventPublisher(c, { logMaxLen: 10_000, logTtlSeconds: 60 }));
    const results = await Promise.all(
      publishers.map((p) =>
        Promise.all(
          Array.from({ length: 250 }, (_, i) =>
            p.publish({ threadId, runId: "r" }, { type: "token", content: `${i}` }),
          ),
        ),
      ),
    );
    await Promise.all(clients.map((c) => closeRedisClient(c)));
    const seqs = results
      .flat()
      .map((r) => r.seq)
      .sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    const page = await readLog(t.client, threadId, "0", 5000);
    const logSeqs = page.entries.map((e) => JSON.parse(e.json).seq);
    expect(logSeqs).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
  });

  it("caps the log approximately and expires log, meta and the run's publish state", async () => {
    const threadId = uniqueId();
    const publisher = createEventPublisher(t.client, { logMaxLen: 100, logTtlSeconds: 2 });
    await t.client.hset(keys.threadMeta(threadId), "owner", "tester");
    for (let i = 0; i < 1000; i++)
      await publisher.publish({ threadId, runId: "r" }, { type: "token", content: "x" });
    const length = await t.client.xlen(keys.threadLog(threadId));
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);
    const ttlLog = await t.client.pttl(keys.threadLog(threadId));
    const ttlMeta = await t.client.pttl(keys.threadMeta(threadId));
    expect(ttlLog).toBeGreaterThan(0);
    expect(ttlLog).toBeLessThanOrEqual(2000);
    const ttlRunState = await t.client.pttl(keys.runPublishState(threadId, "r"));
    expect(ttlMeta).toBeGreaterThan(0);
    expect(ttlRunState).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2_200));
    expect(
      await t.client.exists(
        keys.threadLog(threadId),
        keys.threadMeta(threadId),
        keys.runPublishState(threadId, "r"),
      ),
    ).toBe(0);
  });

  it("keeps idempotency and fencing through the archive feed (the worker's publisher when the archive is on)", async () => {
    const feed = createArchiveFeed(t.client, { markIntervalMs: 60_000 });
    const publisher = withArchiveFeed(
      createEventPublisher(t.client, { logMaxLen: 1_000, logTtlSeconds: 60 }),
      feed,
    );
    const target = { threadId: uniqueId("feed"), runId: "r1" };
    const first = await publisher.publish(
      target,
      { type: "token", content: "a" },
      { idempotencyKey: "2:1", attempt: 2 },
    );
    const again = await publisher.publish(
      target,
      { type: "token", content: "a" },
      { idempotencyKey: "2:1", attempt: 2 },
    );
    expect(again).toMatchObject({ id: first.id, seq: first.seq, duplicate: true });
    await expect(
      publisher.publish(target, { type: "token", content: "stale" }, { idempotencyKey: "1:9", attempt: 1 }),
    ).rejects.toMatchObject({ code: "STALE_ATTEMPT" });
    expect((await readLog(t.client, target.threadId, "0", 10)).entries).toHaveLength(1);
    await feed.flush();
  });

  it("reads pages and flags a resume position that is no longer in the log", async () => {
    const threadId = uniqueId();
    const publisher = createEventPublisher(t.client, { logMaxLen: 100, logTtlSeconds: 60 });
    const ids: string[] = [];
    for (let i = 0; i < 500; i++)
      ids.push((await publisher.publish({ threadId, runId: "r" }, { type: "token", content: `${i}` })).id);
    const oldest = (await t.client.xrange(keys.threadLog(threadId), "-", "+", "COUNT", 1))[0]![0];
    const oldestIndex = ids.indexOf(oldest);
    expect(oldestIndex).toBeGreaterThan(0);

    const resumed = await readLog(t.client, threadId, ids[450]!, 10);
    expect(resumed.truncated).toBe(false);
    expect(resumed.more).toBe(true);
    expect(resumed.entries.map((e) => e.id)).toEqual(ids.slice(451, 461));

    const trimmed = await readLog(t.client, threadId, ids[0]!, 1000);
    expect(trimmed.truncated).toBe(true);
    expect(trimmed.entries.map((e) => e.id)).toEqual(ids.slice(oldestIndex));

    const never = await readLog(t.client, threadId, "99999999999999-0", 1000);
    expect(never.truncated).toBe(true);
    expect(never.entries[0]?.id).toBe(oldest);

    const tail = await readLog(t.client, threadId, ids[499]!, 10);
    expect(tail).toEqual({ entries: [], truncated: false, more: false });
  });

  it("parses a hand `redis-cli publish` (the real binary) as a valid event", async () => {
    const threadId = uniqueId();
    const { messages, sub } = collect(threadId);
    await sub.ready;
    const { port } = new URL(t.redis.url);
    await exec("redis-cli", [
      "-p",
      port,
      "publish",
      keys.threadChannel(threadId),
      '{"type":"token","content":"hello"}',
    ]);
    await expect.poll(() => messages.length, ARRIVAL).toBe(1);
    await sub.close();
    const parsed = parseChannelMessage(keys.threadChannel(threadId), messages[0]!);
    expect(parsed.ok && parsed.event).toMatchObject({ type: "token", threadId, content: "hello" });
    expect(parsed.ok && typeof parsed.event.ts).toBe("number");
  });

  it("a subscription closes its connection", async () => {
    const threadId = uniqueId();
    const probe = new Redis(t.redis.url);
    const name = `close-${threadId}`;
    const sub = subscribeThread(createRedisClient({ url: t.redis.url }, { name }), threadId, {
      onMessage: () => {},
    });
    await sub.ready;
    expect(String(await probe.call("CLIENT", "LIST", "TYPE", "pubsub"))).toContain(`name=${name}`);
    await sub.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(String(await probe.call("CLIENT", "LIST", "TYPE", "pubsub"))).not.toContain(`name=${name}`);
    probe.disconnect();
  });
});
