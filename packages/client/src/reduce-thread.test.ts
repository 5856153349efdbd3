import type { ThreadEvent } from "@threadline/protocol";
import { describe, expect, it } from "vitest";
import { createThreadView, reduceThread } from "./reduce-thread.js";

let seq = 0;
function ev(type: ThreadEvent["type"], content: unknown, ts = 1000 + seq * 10): ThreadEvent {
  seq += 1;
  return { type, content, threadId: "t", runId: "r1", seq, ts, id: `${ts}-${seq}` } as ThreadEvent;
}

describe("reduceThread", () => {
  it("groups events by run, tracks the current run, gaps and hand-published events", () => {
    seq = 0;
    const r1 = ev("token", "one");
    const r2 = { ...ev("token", "two"), runId: "r2", seq: 1 } as ThreadEvent;
    const loose: ThreadEvent = { type: "token", threadId: "t", ts: 1, content: "hello" };
    let view = createThreadView();
    view = reduceThread(view, { kind: "event", event: r1 });
    view = reduceThread(view, { kind: "gap", reason: "REPLAY_TRUNCATED", message: "trimmed", after: "1-0" });
    view = reduceThread(view, { kind: "event", event: r2 });
    view = reduceThread(view, { kind: "event", event: loose });
    expect(view.runIds).toEqual(["r1", "r2"]);
    expect(view.current?.text).toBe("two");
    expect(view.runs.r1?.text).toBe("one");
    expect(view.gaps).toHaveLength(1);
    expect(view.loose).toEqual([loose]);
    expect(view.lastEventId).toBe(r2.id);
    expect(reduceThread(view, { kind: "event", event: r2 })).toBe(view);
  });
});
