import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseChannelMessage } from "./parse-channel-message.js";

const now = () => 1_700_000_000_000;
const parse = (raw: string, options = {}) => parseChannelMessage("thread:demo", raw, { now, ...options });

describe("parseChannelMessage", () => {
  it("accepts a hand-published event, filling threadId from the channel and ts", () => {
    const result = parse('{"type":"token","content":"hello"}');
    expect(result).toEqual({
      ok: true,
      event: { type: "token", threadId: "demo", ts: now(), content: "hello" },
      json: JSON.stringify({ type: "token", content: "hello", threadId: "demo", ts: now() }),
    });
  });

  it("forwards a complete event byte for byte", () => {
    const raw =
      '{"id":"1-0","seq":1,"type":"status","threadId":"demo","runId":"r","ts":5,"content":{"state":"running","extra":1}}';
    const result = parse(raw);
    expect(result.ok && result.json).toBe(raw);
    expect(result.ok && result.event).toMatchObject({ id: "1-0", seq: 1, content: { state: "running" } });
  });

  it("keeps fields it does not know in hand-published events", () => {
    const result = parse('{"type":"delta","content":{"kind":"progress","pct":50},"note":"x"}');
    expect(result.ok && JSON.parse(result.json)).toMatchObject({
      note: "x",
      content: { kind: "progress", pct: 50 },
    });
  });

  it.each([
    ["not JSON", "hello", "not_json"],
    ["truncated JSON", '{"type":"token"', "not_json"],
    ["a JSON string", '"token"', "not_object"],
    ["a JSON array", '[{"type":"token"}]', "not_object"],
    ["null", "null", "not_object"],
    ["an unknown type", '{"type":"tokens","content":"x"}', "unknown_type"],
    ["no type", '{"content":"x"}', "unknown_type"],
    ["token content that is not a string", '{"type":"token","content":{"text":"x"}}', "bad_content"],
    ["a status with an unknown state", '{"type":"status","content":{"state":"sleeping"}}', "bad_content"],
    ["a delta without kind", '{"type":"delta","content":{"args":{}}}', "bad_content"],
    ["a done without finishReason", '{"type":"done","content":{}}', "bad_content"],
    ["an error without retryable", '{"type":"error","content":{"code":"X","message":"m"}}', "bad_content"],
    ["a negative seq", '{"type":"token","content":"x","seq":-1}', "bad_envelope"],
    ["a malformed id", '{"type":"token","content":"x","id":"abc"}', "bad_envelope"],
    ["a string ts", '{"type":"token","content":"x","ts":"now"}', "bad_envelope"],
    ["another thread's id", '{"type":"token","content":"x","threadId":"other"}', "thread_mismatch"],
  ])("rejects %s", (_, raw, reason) => {
    const result = parse(raw);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe(reason);
  });

  it("rejects an oversized message before parsing it", () => {
    const raw = JSON.stringify({ type: "token", content: "x".repeat(2048) });
    const result = parse(raw, { maxBytes: 1024 });
    expect(result).toMatchObject({ ok: false, reason: "too_large" });
    expect(parse(raw, { maxBytes: 4096 }).ok).toBe(true);
  });

  it("rejects a channel that is not thread:<id>", () => {
    expect(parseChannelMessage("threads:x", '{"type":"token","content":"x"}')).toMatchObject({
      reason: "bad_channel",
    });
    expect(parseChannelMessage("thread:a b", '{"type":"token","content":"x"}')).toMatchObject({
      reason: "bad_channel",
    });
  });

  it("accepts Buffers", () => {
    expect(parseChannelMessage("thread:t", Buffer.from('{"type":"token","content":"é"}')).ok).toBe(true);
  });

  it("never throws, whatever arrives", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (raw) => {
          const result = parse(raw);
          expect(typeof result.ok).toBe("boolean");
        },
      ),
      { numRuns: 500 },
    );
  });
});
