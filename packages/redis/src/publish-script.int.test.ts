import type { EventDraft } from "@threadline/protocol";
import { uniqueId, useTestRedis } from "@threadline/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { PublishRefusedError } from "./publish-refused.js";
import { createEventPublisher, IDEMPOTENCY_WINDOW } from "./publisher.js";
import { readLog } from "./replay-log.js";
import { defineScripts } from "./scripts.js";

const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));
beforeAll(() => defineScripts(t.client));

const publisher = () => createEventPublisher(t.client, { logMaxLen: 100_000, logTtlSeconds: 60 });
const token = (content: string) => ({ type: "token" as const, content });
const done = { type: "done" as const, content: { finishReason: "stop" as const } };

/** Calls the script with a raw payload, as a producer in another language would. */
function raw(threadId: string, payload: string, runId = "r", idempotencyKey = "", attempt = "") {
  return t.client.threadlinePublishEvent(
    keys.threadLog(threadId),
    keys.threadMeta(threadId),
    keys.runPublishState(threadId, runId),
    keys.threadChannel(threadId),
    payload,
    1000,
    60,
    "PUBLISH",
    idempotencyKey,
    attempt,
  );
}

async function logLength(threadId: string) {
  return t.client.xlen(keys.threadLog(threadId));
}

async function refusal(promise: Promise<unknown>): Promise<PublishRefusedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PublishRefusedError);
  return error as PublishRefusedError;
}

describe("publish script: idempotency keys", () => {
  it("a repeated key answers the first id and seq and appends nothing", async () => {
    const threadId = uniqueId();
    const p = publisher();
    const first = await p.publish({ threadId, runId: "r" }, token("a"), { idempotencyKey: "k1" });
    const again = await p.publish({ threadId, runId: "r" }, token("a"), { idempotencyKey: "k1" });
    const next = await p.publish({ threadId, runId: "r" }, token("b"), { idempotencyKey: "k2" });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ id: first.id, seq: 1, duplicate: true });
    expect(next).toMatchObject({ seq: 2, duplicate: false });
    expect(await logLength(threadId)).toBe(2);
  });

  it("keys are per run: the same key in another run is a new event", async () => {
    const threadId = uniqueId();
    const p = publisher();
    await p.publish({ threadId, runId: "r1" }, token("a"), { idempotencyKey: "k" });
    const other = await p.publish({ threadId, runId: "r2" }, token("a"), { idempotencyKey: "k" });
    expect(other).toMatchObject({ seq: 1, duplicate: false });
    expect(await logLength(threadId)).toBe(2);
  });

  it(`remembers a key for ${IDEMPOTENCY_WINDOW} later events of the run, then forgets it (bounded)`, async () => {
    const threadId = uniqueId();
    const p = publisher();
    const target = { threadId, runId: "r" };
    await p.publish(target, token("x"), { idempotencyKey: "k0" });
    const pipeline = t.client.pipeline();
    for (let i = 1; i < IDEMPOTENCY_WINDOW; i++)
      pipeline.threadlinePublishEvent(
        keys.threadLog(threadId),
        keys.threadMeta(threadId),
        keys.runPublishState(threadId, "r"),
        keys.threadChannel(threadId),
        JSON.stringify({ type: "token", threadId, runId: "r", ts: 1, content: "y" }),
        100_000,
        60,
        "PUBLISH",
        `k${i}`,
        "",
      );
    await pipeline.exec();
    expect((await p.publish(target, token("x"), { idempotencyKey: "k0" })).duplicate).toBe(true);
    await p.publish(target, token("z"), { idempotencyKey: `k${IDEMPOTENCY_WINDOW}` });
    const forgotten = await p.publish(target, token("x"), { idempotencyKey: "k0" });
    expect(forgotten.duplicate).toBe(false);
    // Two fields per remembered key, plus seq, last and attempt: bounded however long the run.
    expect(await t.client.hlen(keys.runPublishState(threadId, "r"))).toBeLessThanOrEqual(
      2 * IDEMPOTENCY_WINDOW + 4,
    );
  });

  it("refuses a key over 128 characters, and a key on an event with no run", async () => {
    const threadId = uniqueId();
    const p = publisher();
    const long = await refusal(
      p.publish({ threadId, runId: "r" }, token("a"), { idempotencyKey: "k".repeat(129) }),
    );
    expect(long.code).toBe("INVALID_EVENT");
    expect(long.message).toContain("idempotencyKey");
    const runless = await refusal(p.publish({ threadId }, token("a"), { idempotencyKey: "k" }));
    expect(runless.message).toContain("runId");
    expect(await logLength(threadId)).toBe(0);
  });
});

describe("publish script: fencing and the end of a run", () => {
  it("refuses an attempt older than the newest one seen; the newest and unfenced events pass", async () => {
    const threadId = uniqueId();
    const p = publisher();
    const target = { threadId, runId: "r" };
    await p.publish(target, token("a1"), { attempt: 1 });
    await p.publish(target, token("a2"), { attempt: 2 });
    const stale = await refusal(p.publish(target, token("zombie"), { attempt: 1 }));
    expect(stale.code).toBe("STALE_ATTEMPT");
    expect(stale.message).toContain("superseded by attempt 2");
    await p.publish(target, token("a2 again"), { attempt: 2 });
    await p.publish(target, token("operator"));
    const page = await readLog(t.client, threadId, "0", 100);
    expect(page.entries.map((e) => JSON.parse(e.json).content)).toEqual(["a1", "a2", "a2 again", "operator"]);
  });

  it("nothing is appended after a run's done, but a repeated done answers its first id", async () => {
    const threadId = uniqueId();
    const p = publisher();
    const target = { threadId, runId: "r" };
    const first = await p.publish(target, done, { idempotencyKey: "end" });
    expect((await p.publish(target, done, { idempotencyKey: "end" })).id).toBe(first.id);
    const after = await refusal(p.publish(target, token("late")));
    expect(after.code).toBe("RUN_ENDED");
    expect((await refusal(p.publish(target, done))).code).toBe("RUN_ENDED");
    // Other runs of the thread are unaffected.
    expect((await p.publish({ threadId, runId: "r2" }, token("ok"))).seq).toBe(1);
    expect(await logLength(threadId)).toBe(2);
  });
});

describe("publish script: only events readers accept get in", () => {
  const cases: [string, (threadId: string) => string, string][] = [
    ["not JSON", () => "{nope", "payload"],
    ["a JSON array", () => "[1]", "payload"],
    ["an unknown type", (t) => JSON.stringify({ type: "tok", threadId: t, ts: 1, content: "x" }), "type"],
    [
      "a token with object content",
      (t) => JSON.stringify({ type: "token", threadId: t, ts: 1, content: {} }),
      "content",
    ],
    [
      "an unknown state",
      (t) => JSON.stringify({ type: "status", threadId: t, ts: 1, content: { state: "x" } }),
      "content.state",
    ],
    [
      "a delta with no kind",
      (t) => JSON.stringify({ type: "delta", threadId: t, ts: 1, content: {} }),
      "content.kind",
    ],
    [
      "a bad finishReason",
      (t) => JSON.stringify({ type: "done", threadId: t, ts: 1, content: { finishReason: "ok" } }),
      "content.finishReason",
    ],
    [
      "an error without retryable",
      (t) => JSON.stringify({ type: "error", threadId: t, ts: 1, content: { code: "X", message: "m" } }),
      "content.retryable",
    ],
    [
      "another thread's id",
      () => JSON.stringify({ type: "token", threadId: "other", ts: 1, content: "x" }),
      "threadId",
    ],
    ["no ts", (t) => JSON.stringify({ type: "token", threadId: t, content: "x" }), "ts"],
    [
      "its own id",
      (t) => JSON.stringify({ type: "token", id: "1-1", threadId: t, ts: 1, content: "x" }),
      "id",
    ],
    [
      "a bad runId",
      (t) => JSON.stringify({ type: "token", threadId: t, runId: "a b", ts: 1, content: "x" }),
      "runId",
    ],
    [
      "over 1 MiB",
      (t) => JSON.stringify({ type: "token", threadId: t, ts: 1, content: "x".repeat(1024 * 1024) }),
      "payload",
    ],
  ];
  it.each(cases)("refuses %s, naming the field", async (_name, payload, field) => {
    const threadId = uniqueId();
    const error = await raw(threadId, payload(threadId)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(new RegExp(`^INVALID_EVENT ${field.replace(".", "\\.")}:`));
    expect(await logLength(threadId)).toBe(0);
  });

  it("the TypeScript publisher refuses what the protocol's schema refuses before calling Redis", async () => {
    const threadId = uniqueId();
    const error = await refusal(
      publisher().publish(
        { threadId, runId: "r" },
        {
          type: "status",
          content: { state: "running", attempt: 0 },
        },
      ),
    );
    expect(error.code).toBe("INVALID_EVENT");
    expect(error.message).toContain("content.attempt");
    expect(await logLength(threadId)).toBe(0);
  });

  it("writes a token by hand exactly as JSON.stringify would (quotes, escapes, control characters, unicode)", async () => {
    const threadId = uniqueId();
    const contents = ['"q" \\ /', "line\nbreak\t\u0000\u001f", "🧵 naïve", ""];
    const p = createEventPublisher(t.client, { logMaxLen: 1000, logTtlSeconds: 60, now: () => 42 });
    for (const [i, content] of contents.entries()) {
      await p.publish(i % 2 ? { threadId } : { threadId, runId: "r" }, token(content));
    }
    const page = await readLog(t.client, threadId, "0", 100);
    expect(page.entries.map((e) => e.json.replace(/^\{"id":"[^"]+",("seq":\d+,)?/, "{"))).toEqual(
      contents.map((content, i) =>
        JSON.stringify({ type: "token", threadId, ...(i % 2 ? {} : { runId: "r" }), ts: 42, content }),
      ),
    );
  });

  it.each([
    ["a thread id", "bad thread!", "r", "x", "threadId"],
    ["a run id", undefined, "bad run!", "x", "runId"],
    ["a token's content", undefined, "r", 42, "content"],
  ])(
    "the publisher's token fast path still refuses %s the schema refuses",
    async (_name, thread, runId, content, field) => {
      const threadId = thread ?? uniqueId();
      const error = await refusal(
        publisher().publish({ threadId, runId }, { type: "token", content } as unknown as EventDraft),
      );
      expect(error.code).toBe("INVALID_EVENT");
      expect(error.message).toMatch(new RegExp(`^INVALID_EVENT: ${field}:`));
      expect(await logLength(threadId)).toBe(0);
    },
  );
});
