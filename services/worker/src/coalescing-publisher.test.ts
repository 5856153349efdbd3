import type { EventDraft } from "@threadline/protocol";
import type { EventPublisher, Published } from "@threadline/redis";
import { describe, expect, it } from "vitest";
import { createCoalescingPublisher } from "./coalescing-publisher.js";

/** Records what reaches the (in-memory) publisher; `delayMs` makes each publish slow like a round trip. */
function recorder(delayMs = 0, failOn?: number) {
  const sent: EventDraft[] = [];
  const publisher: Pick<EventPublisher, "publish"> = {
    async publish(_target, event): Promise<Published> {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (sent.length === failOn) throw new Error("redis went away");
      sent.push(event);
      return { id: `1-${sent.length}`, seq: sent.length, ts: 0, duplicate: false };
    },
  };
  return { sent, publisher };
}

const target = { threadId: "t", runId: "r" };
const token = (content: string): EventDraft => ({ type: "token", content });
const status: EventDraft = { type: "status", content: { state: "running" } };

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
});
