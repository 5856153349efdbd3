import type { EventDraft } from "@threadline/protocol";
import { describe, expect, it } from "vitest";
import { confirms, createCoalescingPublisher } from "./coalescing-publisher.js";
import { recorder } from "./test-support/recorder.js";

const target = { threadId: "t", runId: "r" };
const token = (content: string): EventDraft => ({ type: "token", content });
const status: EventDraft = { type: "status", content: { state: "running" } };
const toolCall: EventDraft = {
  type: "delta",
  content: { kind: "tool_call", toolCallId: "c1", name: "calculator", args: { expression: "1+1" } },
};
const toolResult: EventDraft = {
  type: "delta",
  content: { kind: "tool_result", toolCallId: "c1", name: "calculator", result: 2 },
};
const checkpoint: EventDraft = { type: "delta", content: { kind: "checkpoint", step: 1, state: {} } };

describe("coalescing publisher", () => {
  it("publishes every event alone, in order, when off", async () => {
    const { sent, publisher } = recorder();
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 0 });
    for (const e of [token("a"), token("b"), status, token("c")]) await out.publish(e);
    await out.flush();
    expect(sent).toEqual([token("a"), token("b"), status, token("c")]);
  });

  it("publishes a run's first token at once and merges the next ones; another event flushes them first", async () => {
    const { sent, publisher } = recorder();
    const published: string[] = [];
    const out = createCoalescingPublisher(publisher, target, {
      attempt: 1,
      coalesceMs: 10_000,
      onPublished: (e) => published.push(e.type),
    });
    await out.publish(token("Hel"));
    // The first token does not wait out the window (POST → first token).
    await expect.poll(() => sent).toEqual([token("Hel")]);
    await out.publish(token("lo"));
    await out.publish(token(" wo"));
    expect(sent).toEqual([token("Hel")]);
    await out.publish(status);
    // The status closed the window: the next token goes out at once again.
    await out.publish(token("rld"));
    await out.flush();
    expect(sent).toEqual([token("Hel"), token("lo wo"), status, token("rld")]);
    expect(published).toEqual(["token", "token", "status", "token"]);
  });

  it("sends held tokens when the window passes; after a quiet window a token goes out at once", async () => {
    const { sent, publisher } = recorder();
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 10 });
    await out.publish(token("a"));
    await out.publish(token("b"));
    await out.publish(token("c"));
    await expect.poll(() => sent).toEqual([token("a"), token("bc")]);
    // The window that sending "bc" opened passes with nothing in it: the stream is quiet again.
    await new Promise((r) => setTimeout(r, 30));
    await out.publish(token("d"));
    await expect.poll(() => sent).toEqual([token("a"), token("bc"), token("d")]);
    out.dispose();
  });

  it("sends a batch early at maxBatchChars", async () => {
    const { sent, publisher } = recorder();
    const out = createCoalescingPublisher(publisher, target, {
      attempt: 1,
      coalesceMs: 10_000,
      maxBatchChars: 4,
    });
    for (const t of ["ab", "cd", "ef", "gh"]) await out.publish(token(t));
    expect(sent).toEqual([token("ab"), token("cdef")]);
    await out.flush();
    expect(sent).toEqual([token("ab"), token("cdef"), token("gh")]);
  });

  it("keeps the order while a slow publish is in flight", async () => {
    const { sent, publisher } = recorder(5);
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 1 });
    const text: string[] = [];
    for (let i = 0; i < 200; i++) {
      text.push(`${i} `);
      await out.publish(token(`${i} `));
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 3));
    }
    await out.publish({ type: "done", content: { finishReason: "stop" } });
    await out.flush();
    expect(sent.at(-1)?.type).toBe("done");
    expect(
      sent
        .slice(0, -1)
        .map((e) => e.content)
        .join(""),
    ).toBe(text.join(""));
    expect(sent.length).toBeLessThan(100);
  });

  it("merges only one agent's consecutive tokens: a multi-agent run keeps every token's path", async () => {
    const { sent, publisher } = recorder();
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 10_000 });
    const a = ["supervisor", "analyst"];
    const b = ["supervisor", "estimator"];
    for (const [content, agent] of [
      ["A1", a],
      ["A2", a],
      ["A3", a],
      ["B1", b],
      ["B2", b],
      ["A4", a],
    ] as const) {
      await out.publish({ type: "token", content, agent: [...agent] });
    }
    await out.flush();
    expect(sent).toEqual([
      { type: "token", content: "A1", agent: a },
      { type: "token", content: "A2A3", agent: a },
      { type: "token", content: "B1B2", agent: b },
      { type: "token", content: "A4", agent: a },
    ]);
  });

  it("surfaces a failed publish to the caller and stops sending", async () => {
    const { sent, publisher } = recorder(0, 1);
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 5 });
    await out.publish(status);
    await out.publish(token("lost"));
    await expect(out.flush()).rejects.toThrow("redis went away");
    await expect(out.publish(status)).rejects.toThrow("redis went away");
    expect(sent).toEqual([status]);
  });

  it("with coalescing off, queues what comes while a call is in flight and sends it in one call", async () => {
    const { sent, calls, publisher } = recorder(5);
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 0 });
    const all = [token("a"), token("b"), status, token("c"), token("d")];
    const waits = all.map((e) => out.publish(e));
    // The run's first token started a call of its own at once; the others wait for it and share one.
    expect(calls).toEqual([1]);
    await Promise.all(waits);
    await out.flush();
    expect(calls).toEqual([1, 4]);
    expect(sent).toEqual(all);
  });

  it("keys a lone event by its number and a batch by its first event's (one key per call, each event in one call)", async () => {
    const { calls, keysSent, publisher } = recorder(5);
    const out = createCoalescingPublisher(publisher, target, { attempt: 3, coalesceMs: 0 });
    const waits = [token("a"), token("b"), status, token("c")].map((e) => out.publish(e));
    await Promise.all(waits);
    await out.flush();
    await out.publish(status);
    await out.flush();
    expect(calls).toEqual([1, 3, 1]);
    expect(keysSent).toEqual(["3:1", "call 3:2 -,-,-", "3:5"]);
  });

  it("an agent's events handed in within one turn share a call, which starts at once for a tool call", async () => {
    const { sent, calls, publisher } = recorder(5);
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 0 });
    // Like the demo agent: statuses resolve once queued, the tool call once published.
    await out.publish({ type: "status", content: { state: "running", step: 1 } });
    await out.publish({ type: "status", content: { state: "running", step: 2 } });
    expect(calls).toEqual([]);
    const call = out.publish(toolCall);
    expect(calls).toEqual([3]);
    let published = false;
    void call.then(() => (published = true));
    await new Promise((r) => setTimeout(r, 1));
    expect(published).toBe(false);
    await call;
    // The tool's result and the step's checkpoint go together; the checkpoint resolves once published.
    await out.publish(toolResult);
    await out.publish(checkpoint);
    expect(calls).toEqual([3, 2]);
    // After it, a status and the first token share a call: the token ends it, the rest follow.
    await out.publish(status);
    for (const t of ["a", "b", "c"]) await out.publish(token(t));
    await out.flush();
    expect(calls).toEqual([3, 2, 2, 2]);
    expect(sent.map((e) => e.type)).toEqual([
      "status",
      "status",
      "delta",
      "delta",
      "delta",
      "status",
      "token",
      "token",
      "token",
    ]);
  });

  it("a lone event goes in the next turn of the event loop, not one round trip later", async () => {
    const { calls, publisher } = recorder();
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 0 });
    await out.publish(status);
    expect(calls).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([1]);
  });

  it("a refused event that nobody waited for stops the run at its next confirmed event, publish or flush", async () => {
    const { sent, publisher } = recorder(0, 1);
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 0 });
    await out.publish(status);
    await out.publish({ type: "status", content: { state: "running", step: 1 } });
    await expect(out.publish(toolCall)).rejects.toThrow("redis went away");
    await expect(out.publish(status)).rejects.toThrow("redis went away");
    await expect(out.flush()).rejects.toThrow("redis went away");
    expect(sent).toEqual([status]);
  });

  it("a call that fails rejects every caller waiting on one of its events, and everything queued after it", async () => {
    const { sent, publisher } = recorder(5, 1);
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 0 });
    const first = out.publish(toolCall);
    const a = out.publish(checkpoint);
    const b = out.publish({
      type: "error",
      content: { code: "AGENT_FAILED", message: "x", retryable: false },
    });
    await first;
    await expect(a).rejects.toThrow("redis went away");
    await expect(b).rejects.toThrow("redis went away");
    await expect(out.flush()).rejects.toThrow("redis went away");
    expect(sent).toEqual([toolCall]);
  });

  it("waits for tool calls, checkpoints and errors; tokens, statuses and other deltas only queue", () => {
    expect([toolCall, checkpoint].map(confirms)).toEqual([true, true]);
    expect(confirms({ type: "error", content: { code: "X", message: "x", retryable: false } })).toBe(true);
    expect([token("a"), status, toolResult].map(confirms)).toEqual([false, false, false]);
    expect(confirms({ type: "delta", content: { kind: "progress", usage: {} } })).toBe(false);
  });
});
