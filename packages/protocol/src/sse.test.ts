import { createParser, type EventSourceMessage } from "eventsource-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ThreadEvent } from "./events.js";
import { encodeSse, encodeSseComment, encodeSseRetry, SSE_KEEPALIVE } from "./sse.js";

function parseAll(text: string): { events: EventSourceMessage[]; retry: number | undefined } {
  const events: EventSourceMessage[] = [];
  let retry: number | undefined;
  const parser = createParser({ onEvent: (e) => events.push(e), onRetry: (r) => (retry = r) });
  parser.feed(text);
  return { events, retry };
}

describe("encodeSse", () => {
  it("frames id, event name and data exactly as the contract says", () => {
    const event: ThreadEvent = {
      type: "token",
      threadId: "t1",
      runId: "r1",
      seq: 3,
      ts: 1,
      id: "1-0",
      content: "hi",
    };
    expect(encodeSse(event)).toBe(`id: 1-0\nevent: token\ndata: ${JSON.stringify(event)}\n\n`);
  });

  it("omits the id line for hand-published events", () => {
    const event: ThreadEvent = { type: "token", threadId: "t1", ts: 1, content: "hi" };
    expect(encodeSse(event)).toBe(`event: token\ndata: ${JSON.stringify(event)}\n\n`);
  });

  it("never names a frame `error` (the browser's own connection-error event): run-error, or stream-error", () => {
    const event: ThreadEvent = {
      type: "error",
      threadId: "t1",
      ts: 1,
      id: "2-0",
      content: { code: "X", message: "boom", retryable: false },
    };
    expect(encodeSse(event)).toBe(`id: 2-0\nevent: run-error\ndata: ${JSON.stringify(event)}\n\n`);
    const notice = { type: "error" as const };
    expect(encodeSse(notice, "{}", "named", "stream-error")).toBe("event: stream-error\ndata: {}\n\n");
  });

  it("leaves the event line out with the message framing, so EventSource's onmessage gets every frame", () => {
    const event: ThreadEvent = { type: "token", threadId: "t1", ts: 1, id: "1-0", content: "hi" };
    const { events } = parseAll(
      encodeSse(event, undefined, "message") + encodeSse(event, "{}", "message", "x"),
    );
    expect(events.map((e) => [e.id, e.event, e.data])).toEqual([
      ["1-0", undefined, JSON.stringify(event)],
      ["1-0", undefined, "{}"],
    ]);
  });

  it("splits a multi-line payload into several data lines", () => {
    const json = '{\n  "type": "token",\r\n  "content": "x"\r}';
    const { events } = parseAll(encodeSse({ type: "token" }, json));
    expect(events[0]?.data).toBe('{\n  "type": "token",\n  "content": "x"\n}');
  });

  it("writes retry and comments that parsers understand or ignore", () => {
    const { events, retry } = parseAll(encodeSseRetry(1500) + SSE_KEEPALIVE + encodeSseComment("a\nb"));
    expect(retry).toBe(1500);
    expect(events).toEqual([]);
  });

  // 100 cases of up to 20,000 graphemes: seconds of CPU, more on a loaded machine.
  it("round-trips any content through a standard SSE parser", { timeout: 60_000 }, () => {
    const content = fc.oneof(
      fc.string({ unit: "binary" }),
      fc.constantFrom("\n", "\r", "\r\n", "\n\n", "data: x\n\nevent: y", "\u2028\u2029", "🧵".repeat(10)),
      fc.string({ unit: "grapheme", minLength: 10_000, maxLength: 20_000 }),
    );
    fc.assert(
      fc.property(
        content,
        fc.option(
          fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`),
          { nil: undefined },
        ),
        (text, id) => {
          const event: ThreadEvent = {
            type: "token",
            threadId: "t",
            ts: 0,
            content: text,
            ...(id ? { id } : {}),
          };
          const { events } = parseAll(encodeSse(event));
          expect(events).toHaveLength(1);
          expect(events[0]?.event).toBe("token");
          expect(events[0]?.id).toBe(id);
          expect(JSON.parse(events[0]!.data)).toEqual(event);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("round-trips any structured delta", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (extra) => {
        const event = {
          type: "delta" as const,
          threadId: "t",
          ts: 0,
          content: { ...extra, kind: "tool_call" },
        };
        const { events } = parseAll(encodeSse(event));
        expect(JSON.parse(events[0]!.data)).toEqual(JSON.parse(JSON.stringify(event)));
      }),
      { numRuns: 200 },
    );
  });
});
