import type { EventDraft } from "@threadline/protocol";
import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { recordArchiveProgress } from "./archive-retention.js";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { PublishRefusedError } from "./publish-refused.js";
import { createEventPublisher, IDEMPOTENCY_WINDOW } from "./publisher.js";
import { readLog } from "./replay-log.js";
import { defineScripts } from "./scripts.js";
import { subscribeThread } from "./subscribe-thread.js";
import { createThreadMeta } from "./thread-meta.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));

/** A fixed clock: two threads fed the same events get byte-identical payloads. */
const publisher = (logMaxLen = 100_000) =>
  createEventPublisher(t.client, { logMaxLen, logTtlSeconds: 60, now: () => 1_700_000_000_000 });
const token = (content: string): EventDraft => ({ type: "token", content });
const status: EventDraft = { type: "status", content: { state: "running" } };
const done: EventDraft = { type: "done", content: { finishReason: "stop" } };
const items = (events: EventDraft[], keyPrefix?: string) =>
  events.map((event, i) => ({ event, ...(keyPrefix ? { idempotencyKey: `${keyPrefix}${i + 1}` } : {}) }));
const contents = async (threadId: string) =>
  (await readLog(t.client, threadId, "0", 10_000)).entries.map((e) => JSON.parse(e.json).content);

function collect(threadId: string) {
  const messages: string[] = [];
  const sub = subscribeThread(createRedisClient({ url: t.redis.url }, { name: "test-sub" }), threadId, {
    onMessage: (raw) => messages.push(raw.toString()),
  });
  return { messages, sub };
}

describe("publish script: several events of one run in one call (real Redis)", () => {
  it("gives every event of a batch what a call of its own gives it: seq, id, log entry == its own live message", async () => {
    const threadId = uniqueId();
    const { messages, sub } = collect(threadId);
    await sub.ready;
    const target = { threadId, runId: "r1" };
    const events = [
      status,
      token("a"),
      token('"b"\n🧵'),
      { type: "delta", content: { kind: "x" } } as EventDraft,
    ];
    const first = await publisher().publishBatch(target, items(events.slice(0, 1), "k"), { attempt: 1 });
    const rest = await publisher().publishBatch(
      target,
      items(events.slice(1), "k").map((item, i) => ({
        ...item,
        idempotencyKey: `k${i + 2}`,
      })),
      { attempt: 1 },
    );
    expect([first.refused, rest.refused]).toEqual([undefined, undefined]);
    const published = [...first.published, ...rest.published];
    expect(published.map((p) => [p.seq, p.duplicate])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
    ]);
    // One live message per event (the gateway's contract), byte-identical to its log entry.
    await expect.poll(() => messages.length, { timeout: 5_000, interval: 10 }).toBe(4);
    await sub.close();
    const page = await readLog(t.client, threadId, "0", 100);
    expect(page.entries.map((e) => e.json)).toEqual(messages);
    expect(page.entries.map((e) => e.id)).toEqual(published.map((p) => p.id));
    expect(messages.map((m) => JSON.parse(m).content)).toEqual(events.map((e) => e.content));
  });

  it("leaves the log, the run's state and the archive counter exactly as one call per event does", async () => {
    // MAXLEN ~ 10: trimmed at ~10 until the archive reports progress (archivedN), then kept up to
    // 10 x MAXLEN past it, so the cap moves with `n` event by event.
    const alone = uniqueId();
    const batched = uniqueId();
    const claim = { createdAt: "2026-01-01T00:00:00.000Z", ttlSeconds: 600 };
    for (const threadId of [alone, batched]) {
      await createThreadMeta(t.client, { archiveFollows: true }).claimOwner(threadId, "alice", claim);
    }
    const events = Array.from({ length: 150 }, (_, i) => token(`token ${i} ${"x".repeat(280)}`));
    const p = publisher(10);
    for (const [i, event] of events.entries()) {
      await p.publish({ threadId: alone, runId: "r" }, event, { idempotencyKey: `k${i + 1}`, attempt: 1 });
      if (i === 29) await recordArchiveProgress(t.client, alone, "0-1");
    }
    const batch = items(events, "k");
    expect(
      (await p.publishBatch({ threadId: batched, runId: "r" }, batch.slice(0, 30), { attempt: 1 })).published,
    ).toHaveLength(30);
    await recordArchiveProgress(t.client, batched, "0-1");
    for (const slice of [batch.slice(30, 31), batch.slice(31, 77), batch.slice(77, 140), batch.slice(140)]) {
      expect(
        (await p.publishBatch({ threadId: batched, runId: "r" }, slice, { attempt: 1 })).published,
      ).toHaveLength(slice.length);
    }

    const state = async (threadId: string) => {
      const run = await t.client.hgetall(keys.runPublishState(threadId, "r"));
      const meta = await t.client.hgetall(keys.threadMeta(threadId));
      const windowKeys = Object.keys(run).filter((f) => f.startsWith("k:") || f.startsWith("s:"));
      return {
        seq: run.seq,
        attempt: run.attempt,
        hasLast: Number(run.last) > 0,
        window: windowKeys.length,
        n: meta.n,
        logLength: await t.client.xlen(keys.threadLog(threadId)),
        logTtl: (await t.client.ttl(keys.threadLog(threadId))) > 0,
        runTtl: (await t.client.ttl(keys.runPublishState(threadId, "r"))) > 0,
        contents: await contents(threadId),
      };
    };
    const [a, b] = [await state(alone), await state(batched)];
    expect(b).toEqual(a);
    expect(a.seq).toBe("150");
    expect(a.n).toBe("150");
    expect(a.logLength).toBeLessThan(140);
  });

  it("a retried batch appends nothing twice: repeats answer their first id and seq, new keys go on", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const p = publisher();
    const events = [token("a"), token("b"), token("c"), token("d")];
    const firstTry = await p.publishBatch(target, items(events.slice(0, 2), "1:"), { attempt: 1 });
    // The whole batch again (a retry after a lost reply) plus two events it had not carried.
    const retry = await p.publishBatch(target, items(events, "1:"), { attempt: 1 });
    expect(retry.refused).toBeUndefined();
    expect(retry.published.map((r) => [r.id, r.seq, r.duplicate])).toEqual([
      [firstTry.published[0]?.id, 1, true],
      [firstTry.published[1]?.id, 2, true],
      [expect.any(String), 3, false],
      [expect.any(String), 4, false],
    ]);
    const again = await p.publishBatch(target, items(events, "1:"), { attempt: 1 });
    expect(again.published.map((r) => r.duplicate)).toEqual([true, true, true, true]);
    expect(await contents(threadId)).toEqual(["a", "b", "c", "d"]);
  });

  it("a fenced batch publishes nothing, not even past events it repeats; the newer attempt's events stand", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const p = publisher();
    await p.publishBatch(target, items([token("old 1")], "1:"), { attempt: 1 });
    await p.publish(target, token("new 1"), { idempotencyKey: "2:1", attempt: 2 });
    const stale = await p.publishBatch(target, items([token("old 2"), token("old 3")], "1:x"), {
      attempt: 1,
    });
    expect(stale.published).toEqual([]);
    expect(stale.refused).toBeInstanceOf(PublishRefusedError);
    expect(stale.refused?.code).toBe("STALE_ATTEMPT");
    // Mid-batch: the first event repeats one attempt 1 published before it was superseded (answered
    // with its id, as alone), the next one is new and refused, and nothing after it is looked at.
    const mid = await p.publishBatch(
      target,
      [
        { event: token("old 1"), idempotencyKey: "1:1" },
        { event: token("old 2"), idempotencyKey: "1:2" },
        { event: token("old 3"), idempotencyKey: "1:3" },
      ],
      { attempt: 1 },
    );
    expect(mid.published.map((r) => [r.seq, r.duplicate])).toEqual([[1, true]]);
    expect(mid.refused?.code).toBe("STALE_ATTEMPT");
    expect(await contents(threadId)).toEqual(["old 1", "new 1"]);
    expect(await t.client.hget(keys.runPublishState(threadId, "r"), "seq")).toBe("2");
  });

  it("stops at a refused event mid-batch: the events before it stay published, the rest are not looked at", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const p = publisher();
    const ended = await p.publishBatch(target, items([token("a"), done, token("late"), token("later")], "k"));
    expect(ended.published.map((r) => r.seq)).toEqual([1, 2]);
    expect(ended.refused?.code).toBe("RUN_ENDED");
    expect(await contents(threadId)).toEqual(["a", { finishReason: "stop" }]);
    expect(await t.client.hget(keys.runPublishState(threadId, "r"), "done")).toBe(ended.published[1]?.id);

    // Invalid by the protocol's schema: checked before Redis, the events before it still go.
    const other = uniqueId();
    const bad = { type: "status", content: { state: "dreaming" } } as unknown as EventDraft;
    const invalid = await p.publishBatch(
      { threadId: other, runId: "r" },
      items([token("x"), bad, token("y")]),
    );
    expect(invalid.published.map((r) => r.seq)).toEqual([1]);
    expect(invalid.refused?.code).toBe("INVALID_EVENT");
    expect(await contents(other)).toEqual(["x"]);
  });

  it("the script refuses a payload mid-batch for a producer that calls it bare (another language)", async () => {
    defineScripts(t.client);
    const threadId = uniqueId();
    const good = (content: string) => JSON.stringify({ type: "token", threadId, runId: "r", ts: 1, content });
    const call = (...more: string[]) =>
      t.client.threadlinePublishEvent(
        keys.threadLog(threadId),
        keys.threadMeta(threadId),
        keys.runPublishState(threadId, "r"),
        keys.threadChannel(threadId),
        good("a"),
        1000,
        60,
        "PUBLISH",
        "",
        "",
        ...more,
      );
    const reply = await call(good("b"), "", '{"type":"token"', "", good("never"), "");
    expect(reply.slice(0, 6)).toEqual([expect.any(String), 1, 0, expect.any(String), 2, 0]);
    expect(reply[6]).toBeInstanceOf(Error);
    expect(String(reply[6])).toContain("INVALID_EVENT payload");
    expect(reply).toHaveLength(7);
    // Every event of one call belongs to one run (the run's state is KEYS[3]).
    const otherRun = JSON.stringify({ type: "token", threadId, runId: "r2", ts: 1, content: "x" });
    const mixed = await call(otherRun, "");
    expect(String(mixed[3])).toContain("INVALID_EVENT runId");
    expect(await contents(threadId)).toEqual(["a", "b", "a"]);
  });
});

describe("publish script: one idempotency key for the whole call (the call-key form, real Redis)", () => {
  const stateOf = (threadId: string) => t.client.hgetall(keys.runPublishState(threadId, "r"));

  it("a call sent again answers what it published the first time and appends nothing; its key is one entry", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const p = publisher();
    const events = [status, token("a"), token("b")];
    const first = await p.publishBatch(target, items(events), { attempt: 1, callKey: "1:1" });
    expect(first.published.map((r) => [r.seq, r.duplicate])).toEqual([
      [1, false],
      [2, false],
      [3, false],
    ]);
    // ioredis re-sending the call after a dropped connection: the same call, byte for byte.
    const again = await p.publishBatch(target, items(events), { attempt: 1, callKey: "1:1" });
    expect(again.refused).toBeUndefined();
    expect(again.published.map((r) => [r.id, r.seq, r.duplicate])).toEqual(
      first.published.map((r) => [r.id, r.seq, true]),
    );
    const next = await p.publishBatch(target, items([token("c")]), { attempt: 1, callKey: "1:4" });
    expect(next.published.map((r) => [r.seq, r.duplicate])).toEqual([[4, false]]);
    expect(await contents(threadId)).toEqual([{ state: "running" }, "a", "b", "c"]);
    // One key and one window entry per call, not per event; the per-event form recognises it too.
    const state = await stateOf(threadId);
    expect(state["k:1:1"]).toBe(first.published.map((r) => `${r.id} ${r.seq}`).join(" "));
    expect(
      Object.keys(state)
        .filter((f) => /^[ks]:/.test(f))
        .sort(),
    ).toEqual(["k:1:1", "k:1:4", "s:1", "s:4"]);
    const alone = await p.publish(target, token("a"), { idempotencyKey: "1:1", attempt: 1 });
    expect([alone.id, alone.seq, alone.duplicate]).toEqual([first.published[0]?.id, 1, true]);
  });

  it("a call refused mid-way and sent again answers the same: its published events as repeats, then the refusal", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const p = publisher();
    const events = [token("a"), done, token("late")];
    const first = await p.publishBatch(target, items(events), { attempt: 1, callKey: "1:1" });
    expect(first.published.map((r) => r.seq)).toEqual([1, 2]);
    expect(first.refused?.code).toBe("RUN_ENDED");
    const again = await p.publishBatch(target, items(events), { attempt: 1, callKey: "1:1" });
    expect(again.published.map((r) => [r.id, r.seq, r.duplicate])).toEqual(
      first.published.map((r) => [r.id, r.seq, true]),
    );
    expect(again.refused?.code).toBe("RUN_ENDED");
    expect(await contents(threadId)).toEqual(["a", { finishReason: "stop" }]);
  });

  it("a stale attempt's call is refused whole, and a repeat of a call it made before it was superseded is answered", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const p = publisher();
    const before = await p.publishBatch(target, items([token("old 1"), token("old 2")]), {
      attempt: 1,
      callKey: "1:1",
    });
    await p.publish(target, token("new 1"), { idempotencyKey: "2:1", attempt: 2 });
    const stale = await p.publishBatch(target, items([token("old 3"), token("old 4")]), {
      attempt: 1,
      callKey: "1:3",
    });
    expect(stale.published).toEqual([]);
    expect(stale.refused?.code).toBe("STALE_ATTEMPT");
    const repeat = await p.publishBatch(target, items([token("old 1"), token("old 2")]), {
      attempt: 1,
      callKey: "1:1",
    });
    expect(repeat.published.map((r) => [r.id, r.duplicate])).toEqual(
      before.published.map((r) => [r.id, true]),
    );
    expect(await contents(threadId)).toEqual(["old 1", "old 2", "new 1"]);
  });

  it("forgets a call's key once IDEM_WINDOW events followed its first: the run's state stays bounded", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const p = publisher();
    const perCall = 100;
    const calls = Math.ceil((IDEMPOTENCY_WINDOW + 2 * perCall) / perCall);
    // An event published alone (the per-event form) in between: forgotten by the same window.
    await p.publish(target, token("alone"), { idempotencyKey: "x", attempt: 1 });
    for (let c = 0; c < calls; c++) {
      const events = Array.from({ length: perCall }, () => token("."));
      const { published } = await p.publishBatch(target, items(events), { attempt: 1, callKey: `1:${c}` });
      expect(published).toHaveLength(perCall);
    }
    const state = await stateOf(threadId);
    const total = 1 + calls * perCall;
    expect(state.seq).toBe(String(total));
    const windowKeys = Object.keys(state).filter((f) => f.startsWith("k:"));
    // Every call whose first event is within the window is remembered, none before it.
    const remembered = Array.from({ length: calls }, (_, c) => c).filter(
      (c) => 2 + c * perCall > total - IDEMPOTENCY_WINDOW,
    );
    expect(windowKeys.sort()).toEqual(remembered.map((c) => `k:1:${c}`).sort());
    expect(Object.keys(state).filter((f) => f.startsWith("s:"))).toHaveLength(remembered.length);
    // A forgotten call sent again is published again (as a forgotten key is, one event at a time).
    const forgotten = await p.publishBatch(target, items([token("again")]), { attempt: 1, callKey: "1:0" });
    expect(forgotten.published.map((r) => r.duplicate)).toEqual([false]);
  });

  it("takes no per-item keys with a call key", async () => {
    await expect(
      publisher().publishBatch({ threadId: uniqueId(), runId: "r" }, items([token("a")], "k"), {
        attempt: 1,
        callKey: "1:1",
      }),
    ).rejects.toThrow(TypeError);
  });
});
