import { describe, expect, it } from "vitest";
import { wellFormed, wellFormedJson } from "./well-formed.js";

describe("wellFormed", () => {
  it("replaces each lone surrogate of a string by U+FFFD and keeps pairs", () => {
    expect(wellFormed("a\ud800b")).toBe("a\ufffdb");
    expect(wellFormed("\udc00")).toBe("\ufffd");
    expect(wellFormed("x\ud83d")).toBe("x\ufffd");
    expect(wellFormed("\ud83d\ude00 ok")).toBe("😀 ok");
    expect(wellFormed("\ude00\ud83d")).toBe("\ufffd\ufffd");
  });

  it("fixes strings at any depth, keys included, in a copy", () => {
    const event = {
      kind: "tool_call",
      args: { "q\udc80": ["fine", { text: "bad \ud800" }], n: 1, ok: true, none: null },
    };
    const fixed = wellFormed(event);
    expect(fixed).toEqual({
      kind: "tool_call",
      args: { "q\ufffd": ["fine", { text: "bad \ufffd" }], n: 1, ok: true, none: null },
    });
    // The caller's object is left as it was.
    expect(event.args["q\udc80"]).toEqual(["fine", { text: "bad \ud800" }]);
  });

  it("answers the value itself when it has no lone surrogate (no copy on the common path)", () => {
    const event = { kind: "note", list: ["a", "😀"], nested: { text: "plain" } };
    expect(wellFormed(event)).toBe(event);
    const list = ["a", { b: "c" }];
    expect(wellFormed(list)).toBe(list);
    expect(wellFormed(42)).toBe(42);
    expect(wellFormed(null)).toBe(null);
  });

  it("leaves a literal backslash-u text alone: only real surrogates are touched", () => {
    expect(wellFormed("\\ud800")).toBe("\\ud800");
  });
});

describe("wellFormedJson", () => {
  it("is JSON.stringify of the well-formed value, for a string and for an event", () => {
    expect(wellFormedJson("a\ud800b")).toBe('"a\ufffdb"');
    expect(wellFormedJson("😀 \\ud800")).toBe(JSON.stringify("😀 \\ud800"));
    const event = { type: "delta", content: { args: { "q\udc80": "bad \ud800" }, text: "\\ud800" } };
    expect(wellFormedJson(event)).toBe(JSON.stringify(wellFormed(event)));
    expect(JSON.parse(wellFormedJson(event)).content.args).toEqual({ "q\ufffd": "bad \ufffd" });
  });
});
