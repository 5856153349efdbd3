import { describe, expect, it } from "vitest";
import { createParseOnce } from "./parse-once.js";

const event = (n: number) =>
  Buffer.from(`{"id":"1-${n}","type":"token","threadId":"t1","ts":1,"content":"x${n}"}`);

describe("createParseOnce", () => {
  it("parses a message once for every stream that receives it, the same Buffer or an identical copy", () => {
    const parse = createParseOnce();
    const first = parse("thread:t1", event(1), { maxBytes: 1024 });
    expect(first.ok).toBe(true);
    expect(parse("thread:t1", event(1), { maxBytes: 1024 })).toBe(first);
  });

  it("parses a different message, channel or size limit anew", () => {
    const parse = createParseOnce();
    const first = parse("thread:t1", event(1), { maxBytes: 1024 });
    const second = parse("thread:t1", event(2), { maxBytes: 1024 });
    expect(second).not.toBe(first);
    expect(second.ok && second.event.content).toBe("x2");
    const otherChannel = parse("thread:t2", event(2), { maxBytes: 1024 });
    expect(otherChannel).toEqual({ ok: false, reason: "thread_mismatch", detail: expect.any(String) });
    expect(parse("thread:t2", event(2), { maxBytes: 10 })).toMatchObject({ ok: false, reason: "too_large" });
  });
});
