import type { EventDraft } from "@threadline/protocol";
import { createEventPublisher, type EventPublisher, PublishRefusedError, readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createCoalescingPublisher } from "./coalescing-publisher.js";
import { useWorkerRedis } from "./test-support/harness.js";

const t = useWorkerRedis();

/** The real publisher, counting how many events each script call carried. */
function countingPublisher() {
  const real = createEventPublisher(t.client, { logMaxLen: 100_000, logTtlSeconds: 60 });
  const calls: number[] = [];
  const publisher: EventPublisher = {
    publish(target, event, options) {
      calls.push(1);
      return real.publish(target, event, options);
    },
    publishBatch(target, items, options) {
      calls.push(items.length);
      return real.publishBatch(target, items, options);
    },
  };
  return { publisher, calls };
}

const token = (content: string): EventDraft => ({ type: "token", content });
const status = (step: number): EventDraft => ({ type: "status", content: { state: "running", step } });
/** Checkpoints are among the events whose callers wait until they are published (or refused). */
const checkpoint = (step: number): EventDraft => ({
  type: "delta",
  content: { kind: "checkpoint", step, state: {} },
});
const logOf = async (threadId: string) =>
  (await readLog(t.client, threadId, "0", 10_000)).entries.map((e) => JSON.parse(e.json));
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "published",
    (error: unknown) => (error instanceof PublishRefusedError ? error.code : String(error)),
  );

describe("a run's events batch while its script call is in flight (real Redis)", () => {
  it("sends the first event alone at once, queues the rest into few calls, and keeps order and seq", async () => {
    const threadId = uniqueId();
    const { publisher, calls } = countingPublisher();
    const seen: number[] = [];
    const out = createCoalescingPublisher(
      publisher,
      { threadId, runId: "r" },
      { attempt: 1, coalesceMs: 0, onPublished: (_e, p) => seen.push(p.seq) },
    );
    const handed: EventDraft[] = [];
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      const event = i % 100 === 50 ? status(i) : token(`${i} `);
      handed.push(event);
      // Tokens resolve once queued; the statuses are waited for by their callers, later.
      waits.push(out.publish(event));
      if (i === 0) expect(calls).toEqual([1]);
    }
    await Promise.all(waits);
    await out.flush();
    const log = await logOf(threadId);
    expect(log.map((e) => e.content)).toEqual(handed.map((e) => e.content));
    expect(log.map((e) => e.seq)).toEqual(handed.map((_, i) => i + 1));
    expect(seen).toEqual(handed.map((_, i) => i + 1));
    // The first call carried the first event alone; everything else shared calls.
    expect(calls[0]).toBe(1);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(600);
    expect(calls.length).toBeLessThan(600 / 10);
  });

  it("a fenced batch publishes nothing and rejects every caller waiting on it; the run stops", async () => {
    const threadId = uniqueId();
    const target = { threadId, runId: "r" };
    const { publisher } = countingPublisher();
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 0 });
    await out.publish(status(1));
    // One connection: Redis runs these in the order they are sent. "t1" goes alone at once, then a
    // newer attempt publishes, then the batch queued behind "t1" arrives — fenced as a whole.
    const t1 = out.publish(token("t1"));
    const a = outcome(out.publish(checkpoint(2)));
    const b = outcome(out.publish(checkpoint(3)));
    const newer = createEventPublisher(t.client, { logMaxLen: 1_000, logTtlSeconds: 60 }).publish(
      target,
      token("attempt 2"),
      { attempt: 2, idempotencyKey: "2:1" },
    );
    await t1;
    await newer;
    expect([await a, await b]).toEqual(["STALE_ATTEMPT", "STALE_ATTEMPT"]);
    await expect(out.flush()).rejects.toBeInstanceOf(PublishRefusedError);
    expect(await outcome(out.publish(token("after")))).toBe("STALE_ATTEMPT");
    const log = await logOf(threadId);
    expect(log.map((e) => e.content)).toEqual([{ state: "running", step: 1 }, "t1", "attempt 2"]);
    expect(log.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("a refusal mid-batch: callers of the events before it resolve; the refused one and those after it reject", async () => {
    const threadId = uniqueId();
    const { publisher, calls } = countingPublisher();
    const out = createCoalescingPublisher(publisher, { threadId, runId: "r" }, { attempt: 1, coalesceMs: 0 });
    const t1 = out.publish(token("t1"));
    const before = outcome(out.publish(checkpoint(1)));
    const theDone = outcome(out.publish({ type: "done", content: { finishReason: "stop" } }));
    const ended = outcome(out.publish(checkpoint(2)));
    await t1;
    // checkpoint(1) and done went in one call; done ended the run, so checkpoint(2) after it is
    // RUN_ENDED (it shares the call: the script stops there).
    expect(await before).toBe("published");
    expect(await theDone).toBe("published");
    expect(await ended).toBe("RUN_ENDED");
    expect(calls).toEqual([1, 3]);
    const log = await logOf(threadId);
    expect(log.map((e) => e.type)).toEqual(["token", "delta", "done"]);

    // Refused by the schema before Redis: the one before it is published, it and the next reject.
    const other = uniqueId();
    const out2 = createCoalescingPublisher(
      publisher,
      { threadId: other, runId: "r" },
      { attempt: 1, coalesceMs: 0 },
    );
    void out2.publish(token("x"));
    const ok = outcome(out2.publish(checkpoint(1)));
    const bad = outcome(out2.publish({ type: "error", content: { code: 5 } } as unknown as EventDraft));
    const skipped = outcome(out2.publish(checkpoint(2)));
    expect([await ok, await bad, await skipped]).toEqual(["published", "INVALID_EVENT", "INVALID_EVENT"]);
    expect((await logOf(other)).map((e) => e.type)).toEqual(["token", "delta"]);

    // A refused event nobody waited for (a status resolves once queued) stops the run all the same:
    // its next publish and its flush reject with the refusal, and nothing after it is appended.
    const third = uniqueId();
    const out3 = createCoalescingPublisher(
      publisher,
      { threadId: third, runId: "r" },
      { attempt: 1, coalesceMs: 0 },
    );
    await out3.publish(status(1));
    await out3.publish({ type: "status", content: { state: "dreaming" } } as unknown as EventDraft);
    expect(await outcome(out3.publish(checkpoint(1)))).toBe("INVALID_EVENT");
    expect(await outcome(out3.flush())).toBe("INVALID_EVENT");
    expect((await logOf(third)).map((e) => e.type)).toEqual(["status"]);
  });
});
