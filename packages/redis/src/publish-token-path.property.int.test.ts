import { useTestRedis } from "@threadline/testing";
import fc from "fast-check";
import { Redis } from "ioredis";
import { beforeAll, describe, expect, it } from "vitest";
import { keys } from "./keys.js";
import { publishScriptSource } from "./scripts.js";

/**
 * The publish script matches the common token shape with patterns instead of cjson.decode (its "token
 * path"). Here the script and a copy with the token path switched off answer the same payloads, each
 * on a fresh thread: the same verdict (the same error, or the same seq and log entry) for every one.
 */
/** The line that turns the token path on (for the channel's thread): the copy sets it to false. */
const TOKEN_PATH_LINE = /^local tokenPath = .*$/m;

const t = useTestRedis((url) => new Redis(url));
type Verdict = { error: string } | { seq: number; repeat: number; entry: string | undefined };

beforeAll(() => {
  const source = publishScriptSource();
  expect(source).toMatch(TOKEN_PATH_LINE);
  t.client.defineCommand("withTokenPath", { numberOfKeys: 3, lua: source });
  t.client.defineCommand("decodeOnly", {
    numberOfKeys: 3,
    lua: source.replace(TOKEN_PATH_LINE, "local tokenPath = false"),
  });
});

let calls = 0;
async function verdict(command: "withTokenPath" | "decodeOnly", thread: string, payload: string) {
  const log = keys.threadLog(thread);
  await t.client.del(log, keys.threadMeta(thread), keys.runPublishState(thread, "r"));
  calls += 1;
  const call = (t.client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[command];
  const reply = await call
    ?.call(
      t.client,
      log,
      keys.threadMeta(thread),
      keys.runPublishState(thread, "r"),
      keys.threadChannel(thread),
      payload,
      1000,
      60,
      "PUBLISH",
      "",
      "",
    )
    .then(
      (r) => r as [string, number, number],
      (e: Error) => ({ error: e.message }),
    );
  if (!reply || "error" in reply) return reply as Verdict;
  const [[, fields] = [undefined, []]] = await t.client.xrange(log, "-", "+");
  return { seq: reply[1], repeat: reply[2], entry: fields[1] } satisfies Verdict;
}

const THREAD = "tp-thread";
/** Channels whose thread id is no valid id: written raw into a token's JSON, it would break it. */
const ODD_THREADS = ['tp"thread', "tp\\thread", "tp thread"];
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom("", " word", "\n", '"', "\\", "\u0001", "\u007f", "é", "😀", "\ud800", "a\u2028b"),
);
const jsonText = fc.oneof(
  text.map((s) => JSON.stringify(s)),
  // Not JSON-escaped: raw quotes, backslashes and control characters as they are.
  text.map((s) => `"${s}"`),
);
const runId = fc.oneof(
  fc.constantFrom("r", "run_1-A", "a".repeat(128), "a".repeat(129), "a b", "", "é", "r\u0000"),
  fc.stringMatching(/^[\w-]{1,8}$/),
);
const ts = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom(
    "1764400000000",
    "0",
    "00",
    "0123",
    "-1",
    "1.5",
    "1e3",
    "9".repeat(15),
    "9".repeat(16),
    '"1"',
  ),
);
const threadId = fc.constantFrom(THREAD, "other-thread", `${THREAD}x`, "tp-thread\\u0041");
/** Token-shaped payloads, near the token path's pattern and just off it. */
const payload = fc.oneof(
  fc
    .record({ threadId, runId, ts, content: jsonText })
    .map(
      (p) =>
        `{"type":"token","threadId":"${p.threadId}","runId":"${p.runId}","ts":${p.ts},"content":${p.content}}`,
    ),
  fc
    .record({ runId, ts, content: jsonText, tail: fc.constantFrom("", " ", ',"x":1', ',"id":"1-1"', "}") })
    .map(
      (p) =>
        `{"type":"token","threadId":"${THREAD}","runId":"${p.runId}","ts":${p.ts},"content":${p.content}${p.tail}}`,
    ),
  fc
    .record({ ts, content: jsonText })
    .map((p) => `{"type":"token","threadId":"${THREAD}","ts":${p.ts},"content":${p.content}}`),
);

describe("publish script: the token path", () => {
  it("gives every token-shaped payload the verdict cjson.decode gives it", async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const fast = await verdict("withTokenPath", THREAD, p);
        const decoded = await verdict("decodeOnly", THREAD, p);
        expect(fast).toEqual(decoded);
      }),
      { numRuns: 400 },
    );
    expect(calls).toBeGreaterThanOrEqual(800);
  });

  it("leaves the tokens of a channel whose thread id is no valid id to cjson.decode", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ODD_THREADS),
        runId,
        ts,
        jsonText,
        async (thread, run, at, content) => {
          const p = `{"type":"token","threadId":"${thread}","runId":"${run}","ts":${at},"content":${content}}`;
          expect(await verdict("withTokenPath", thread, p)).toEqual(await verdict("decodeOnly", thread, p));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("publishes what the TypeScript publisher writes for a plain token", async () => {
    const p = `{"type":"token","threadId":"${THREAD}","runId":"r","ts":1764400000000,"content":" word"}`;
    expect(await verdict("withTokenPath", THREAD, p)).toEqual({
      seq: 1,
      repeat: 0,
      entry: `{"seq":1,${p.slice(1)}`,
    });
  });
});
