import type { EventDraft } from "@threadline/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCoalescingPublisher } from "./coalescing-publisher.js";
import { recorder } from "./test-support/recorder.js";

// The carry of a high surrogate that ends one token over to the run's next token. What the
// recorder holds is what the publisher is handed; the publisher then makes any lone surrogate
// U+FFFD (`toWellFormed`, tested against Redis in packages/redis/src/lone-surrogates.int.test.ts).

const target = { threadId: "t", runId: "r" };
const token = (content: string, agent?: string[]): EventDraft => ({
  type: "token",
  content,
  ...(agent ? { agent } : {}),
});
const status: EventDraft = { type: "status", content: { state: "running" } };
const HIGH = "\ud83d";
const LOW = "\ude00";
const textOf = (sent: EventDraft[]) => sent.map((e) => (e.type === "token" ? e.content : `[${e.type}]`));

describe.each([
  { mode: "coalescing off", coalesceMs: 0 },
  { mode: "coalescing on", coalesceMs: 10_000 },
])("a surrogate pair split across two tokens ($mode)", ({ coalesceMs }) => {
  const start = () => {
    const rec = recorder();
    const out = createCoalescingPublisher(rec.publisher, target, { attempt: 1, coalesceMs });
    return { ...rec, out };
  };

  it("arrives whole: the high half waits for the next token", async () => {
    const { sent, out } = start();
    await out.publish(token(`hi ${HIGH}`));
    await out.publish(token(`${LOW} there`));
    await out.flush();
    out.dispose();
    expect(textOf(sent)).toEqual(["hi ", "😀 there"]);
  });

  it("a token holding only the high half sends nothing until its pair arrives; pairs back to back", async () => {
    const { sent, out } = start();
    await out.publish(token(HIGH));
    await out.publish(token(`${LOW}${HIGH}`));
    await out.publish(token("\ude01"));
    await out.flush();
    out.dispose();
    expect(textOf(sent).join("")).toBe("😀😁");
    for (const e of sent) expect((e.content as string).isWellFormed()).toBe(true);
  });

  it("a high surrogate as the run's very last token is sent as U+FFFD when the run ends", async () => {
    const { sent, out } = start();
    await out.publish(token("x"));
    await out.publish(token(`y${HIGH}`));
    await out.flush();
    out.dispose();
    expect(textOf(sent).join("")).toBe("xy\ufffd");
  });

  it("a high surrogate followed by another event is sent as U+FFFD before it; order is kept", async () => {
    const { sent, out } = start();
    await out.publish(token(`a${HIGH}`));
    await out.publish(status);
    await out.publish(token(`${LOW}b`));
    await out.flush();
    out.dispose();
    // The low half after the status is lone too: the publisher makes it U+FFFD.
    expect(textOf(sent).join("")).toBe(`a\ufffd[status]${LOW}b`);
    expect(sent.map((e) => e.type)).toEqual(["token", "token", "status", "token"]);
  });

  it("another agent's token cannot complete the pair: the held half goes out first, under its own path", async () => {
    const { sent, out } = start();
    await out.publish(token(`root${HIGH}`));
    await out.publish(token(`${LOW}sub`, ["supervisor", "a"]));
    await out.flush();
    out.dispose();
    const root = sent.filter((e) => e.agent === undefined).map((e) => e.content);
    const sub = sent.filter((e) => e.agent !== undefined).map((e) => e.content);
    expect(root.join("")).toBe("root\ufffd");
    expect(sub.join("")).toBe(`${LOW}sub`);
    expect(sent.findIndex((e) => e.agent !== undefined)).toBe(sent.length - 1);
  });
});

describe("a surrogate pair split at a coalescing window boundary", () => {
  it("the window closes without the high half; the next window's first token completes the pair", async () => {
    const { sent, publisher } = recorder();
    const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs: 30 });
    await out.publish(token("a"));
    await out.publish(token(`b${HIGH}`));
    // The leading edge sent "a"; the window closes and sends what it held, without the high half.
    await expect.poll(() => textOf(sent), { timeout: 2_000, interval: 5 }).toEqual(["a", "b"]);
    await out.publish(token(`${LOW}c`));
    await out.flush();
    out.dispose();
    expect(textOf(sent)).toEqual(["a", "b", "😀c"]);
  });

  it("a batch sent early at maxBatchChars never ends with the high half", async () => {
    const { sent, publisher } = recorder();
    const out = createCoalescingPublisher(publisher, target, {
      attempt: 1,
      coalesceMs: 10_000,
      maxBatchChars: 4,
    });
    for (const part of ["first", `ab${HIGH}`, `${LOW}cd${HIGH}`, `${LOW}`]) await out.publish(token(part));
    await out.flush();
    out.dispose();
    expect(textOf(sent).join("")).toBe("firstab😀cd😀");
    for (const e of sent) expect((e.content as string).isWellFormed()).toBe(true);
  });
});

/** UTF-16 code units, biased towards surrogates so that pairs get split and halves go lone. */
const unit = fc.constantFrom("a", "é", "中", HIGH, LOW, "\udbff", "\udc00", "😀", "🧵");
const tokenText = fc.array(unit, { maxLength: 6 }).map((units) => units.join(""));

describe("property: the run's delivered text is its tokens' text made well-formed", () => {
  it("for any sequence of token strings, concat(delivered) === concat(tokens).toWellFormed()", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(tokenText, { maxLength: 30 }),
        fc.constantFrom(0, 10_000),
        fc.integer({ min: 1, max: 8 }),
        async (tokens, coalesceMs, maxBatchChars) => {
          const { sent, publisher } = recorder();
          const out = createCoalescingPublisher(publisher, target, { attempt: 1, coalesceMs, maxBatchChars });
          for (const text of tokens) await out.publish(token(text));
          await out.flush();
          out.dispose();
          // Each event as the publisher serializes it: its own lone surrogates become U+FFFD.
          const delivered = sent.map((e) => (e.content as string).toWellFormed()).join("");
          expect(delivered).toBe(tokens.join("").toWellFormed());
        },
      ),
      { numRuns: 500 },
    );
  });
});
