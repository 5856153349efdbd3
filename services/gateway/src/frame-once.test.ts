import { encodeSse } from "@threadline/protocol";
import { describe, expect, it } from "vitest";
import { createFrameOnce } from "./frame-once.js";

describe("createFrameOnce", () => {
  const json = '{"id":"1-1","type":"token","threadId":"t","ts":1,"content":"é"}';
  const event = { type: "token" as const, id: "1-1" };

  it("frames like encodeSse, as UTF-8 bytes", () => {
    const frame = createFrameOnce()(event, json);
    expect(frame.toString("utf8")).toBe(encodeSse(event, json));
  });

  it("hands every client of a message the same bytes, and a new message new bytes", () => {
    const frameOf = createFrameOnce();
    const first = frameOf(event, json);
    expect(frameOf(event, `${json}`)).toBe(first);
    const other = '{"type":"token","threadId":"t","ts":2,"content":"x"}';
    expect(frameOf({ type: "token", id: undefined }, other).toString()).toBe(
      encodeSse({ type: "token" }, other),
    );
    // Same JSON under another id (a hand-published copy) is framed with its own id line.
    expect(frameOf({ type: "token", id: "1-2" }, json).toString()).toContain("id: 1-2\n");
  });

  it("frames ?format=message streams without the event line, never handing them the named bytes", () => {
    const frameOf = createFrameOnce();
    const named = frameOf(event, json);
    const unnamed = frameOf(event, json, "message");
    expect(unnamed.toString()).toBe(encodeSse(event, json, "message"));
    expect(unnamed.toString()).not.toContain("event:");
    expect(frameOf(event, json).toString()).toBe(named.toString());
  });
});
