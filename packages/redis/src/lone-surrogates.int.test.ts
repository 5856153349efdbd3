import { parseChannelMessage } from "@threadline/protocol";
import { uniqueId, useTestRedis } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./connections.js";
import { createEventPublisher } from "./publisher.js";
import { readLog } from "./replay-log.js";
import { createRunLifecycle } from "./run-lifecycle.js";
import { createRunRecords } from "./run-records.js";
import { subscribeThread } from "./subscribe-thread.js";

// Redis's Lua cjson refuses the `\udXXX` escape JSON.stringify writes for a lone UTF-16 surrogate, so
// without the publisher's fix every event below would be refused (INVALID_EVENT).
const t = useTestRedis((url) => createRedisClient({ url }, { name: "test" }));
const retention = { logMaxLen: 1000, logTtlSeconds: 60 };
const ARRIVAL = { timeout: 5_000, interval: 10 };

function collect(threadId: string) {
  const messages: string[] = [];
  const sub = subscribeThread(createRedisClient({ url: t.redis.url }, { name: "test-sub" }), threadId, {
    onMessage: (raw) => messages.push(raw.toString()),
  });
  return { messages, sub };
}
const contentsOf = async (threadId: string) =>
  (await readLog(t.client, threadId, "0", 100)).entries.map((e) => JSON.parse(e.json).content);

describe("lone UTF-16 surrogates on the publish path (real Redis)", () => {
  it("are published as U+FFFD in tokens, sub-agent tokens and nested content; pairs stay whole", async () => {
    const threadId = uniqueId();
    const { messages, sub } = collect(threadId);
    await sub.ready;
    const publisher = createEventPublisher(t.client, retention);
    const target = { threadId, runId: "r1" };
    await publisher.publish(target, { type: "token", content: "cut \ud83d" });
    await publisher.publish(target, { type: "token", content: "\udc80 emoji 😀 \ud83d\ude00" });
    await publisher.publish(target, { type: "token", content: "sub \udfff", agent: ["supervisor", "a"] });
    await publisher.publish(target, {
      type: "delta",
      content: { kind: "tool_call", toolCallId: "c1", name: "search", args: { "q\ud800": ["x\udbff"] } },
    });
    // A literal backslash-u text looks like the escape to the quick check; it goes out unchanged.
    await publisher.publish(target, {
      type: "status",
      content: { state: "running", message: "\\ud800 \ud800" },
    });
    const batch = await publisher.publishBatch(target, [
      { event: { type: "token", content: "\ud800" } },
      { event: { type: "delta", content: { kind: "reasoning", text: "\udc00!" } } },
    ]);
    expect(batch.refused).toBeUndefined();
    const expected = [
      "cut \ufffd",
      "\ufffd emoji 😀 😀",
      "sub \ufffd",
      { kind: "tool_call", toolCallId: "c1", name: "search", args: { "q\ufffd": ["x\ufffd"] } },
      { state: "running", message: "\\ud800 \ufffd" },
      "\ufffd",
      { kind: "reasoning", text: "\ufffd!" },
    ];
    expect(await contentsOf(threadId)).toEqual(expected);
    // What a subscriber (the gateway) receives parses and says the same.
    await expect.poll(() => messages.length, ARRIVAL).toBe(expected.length);
    await sub.close();
    const live = messages.map((raw) => parseChannelMessage(`thread:${threadId}`, raw));
    expect(live.map((m) => (m.ok ? m.event.content : m))).toEqual(expected);
  });

  it("a final transition whose error message holds one is accepted: the run fails with U+FFFD, once", async () => {
    const lifecycle = createRunLifecycle(t.client, retention);
    const threadId = uniqueId();
    const run = { threadId, runId: "r1" };
    await lifecycle.start({ ...run, agent: "demo" });
    await lifecycle.running(run, 1, "2026-01-01T00:00:00.000Z");
    await lifecycle.fail(run, { code: "AGENT_FAILED", message: "bad byte \udc80", retryable: false }, 1);
    const log = (await readLog(t.client, threadId, "0", 100)).entries.map((e) => JSON.parse(e.json));
    expect(log.map((e) => e.type)).toEqual(["status", "status", "error", "status", "done"]);
    expect(log[2].content.message).toBe("bad byte \ufffd");
    expect(await createRunRecords(t.client).get(threadId, "r1")).toMatchObject({
      status: "failed",
      error: { code: "AGENT_FAILED", message: "bad byte \ufffd", retryable: false },
    });
  });
});
