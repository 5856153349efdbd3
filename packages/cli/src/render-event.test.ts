import { describe, expect, it } from "vitest";
import { createEventRenderer } from "./render-event.js";
import type { TailMessage } from "./tail-stream.js";

const ts = Date.UTC(2026, 0, 1, 12, 0, 1, 250);
const message = (event: string, content: unknown, extra: object = {}): TailMessage => {
  const value = { type: event, threadId: "t", ts, content, ...extra };
  return { id: undefined, event, data: JSON.stringify(value), value };
};

describe("the human tail view", () => {
  it("streams tokens inline and puts every other event on its own timeline line", () => {
    let out = "";
    let err = "";
    const view = createEventRenderer({ out: (s) => (out += s), err: (s) => (err += s) });
    view.event(message("status", { state: "running", attempt: 1 }, { runId: "run_1" }));
    view.event(
      message("delta", {
        kind: "tool_call",
        toolCallId: "c1",
        name: "calculator",
        args: { expression: "6*7" },
      }),
    );
    view.event(message("delta", { kind: "tool_result", toolCallId: "c1", name: "calculator", result: 42 }));
    view.event(message("token", "The answer"));
    view.event(message("token", " is 42."));
    view.notice({
      type: "reconnecting",
      reason: "server closed the stream",
      delayMs: 1200,
      lastEventId: "9-0",
    });
    view.notice({ type: "connected", resumedAfter: "9-0" });
    view.event(message("done", { finishReason: "stop", usage: { outputTokens: 5 } }));
    view.end();
    expect(out).toBe(
      [
        "── 12:00:01.250 status running attempt 1  [run_1]",
        '   12:00:01.250 → tool calculator({"expression":"6*7"})',
        "   12:00:01.250 ← calculator: 42",
        "The answer is 42.",
        '✔  12:00:01.250 done (stop) usage {"outputTokens":5}',
        "",
      ].join("\n"),
    );
    expect(err).toBe(
      "↻ server closed the stream; reconnecting in 1.2s (Last-Event-ID 9-0)\n↻ reconnected, resumed after 9-0\n",
    );
  });
});
