import { type Agent, createAgentRegistry } from "@threadline/agents";
import { createRunRecords } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  brief,
  jobData,
  newPrefix,
  seedRunRecord,
  silentLog,
  startTestWorker,
  testWorkerConfig,
  useWorkerRedis,
  watchThread,
} from "./test-support/harness.js";

// Lone UTF-16 surrogates must not fail a run (real Redis, real BullMQ, real worker, a real subscriber
// parsing what the gateway would receive). Redis's Lua cjson refuses the `\udXXX` escape JSON.stringify
// writes for one, so before the fix the publish script refused the event and the run failed.
const t = useWorkerRedis();

const TEXT = "smile 😀, thread 🧵, done";

/**
 * `chunked` cuts TEXT by UTF-16 code units (as `text.slice(i, i + n)` does), splitting every emoji's
 * surrogate pair across two tokens; `lone` publishes lone surrogates in a token, in a delta and in
 * its output, and ends its text on a high surrogate.
 */
const agents = createAgentRegistry([
  {
    name: "chunked",
    description: "streams TEXT in chunks of UTF-16 code units",
    inputSchema: z.object({ size: z.number().int().min(1).default(1), pauseMs: z.number().default(0) }),
    async *run(raw) {
      const { size, pauseMs } = raw as { size: number; pauseMs: number };
      for (let i = 0; i < TEXT.length; i += size) {
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        yield { type: "token", content: TEXT.slice(i, i + size) };
      }
      yield { type: "done", content: { finishReason: "stop", output: { text: TEXT } } };
    },
  } satisfies Agent,
  {
    name: "lone",
    description: "publishes lone surrogates",
    inputSchema: z.object({}),
    async *run() {
      yield { type: "token", content: "bytes \udc80 gone, " };
      yield {
        type: "delta",
        content: { kind: "tool_call", toolCallId: "c1", name: "read", args: { path: "f\udcff" } },
      };
      yield { type: "token", content: "cut \ud83d" };
      yield { type: "done", content: { finishReason: "stop", output: { text: "half \ud83d" } } };
    },
  } satisfies Agent,
]);

async function run(
  agent: string,
  input: Record<string, unknown>,
  env: Record<string, string>,
  progressMs?: number,
) {
  const queue = await startTestWorker(
    testWorkerConfig(t.redis.url, newPrefix(), env),
    { log: silentLog, agents, ...(progressMs ? { progressIntervalMs: progressMs } : {}) },
    t.cleanups,
  );
  const threadId = uniqueId("utf16");
  const data = jobData(threadId, agent, input);
  const live = await watchThread(t.redis.url, threadId);
  t.cleanups.push(() => live.close());
  await seedRunRecord(
    t.client,
    {
      runId: data.runId,
      threadId,
      agent,
      status: "queued",
      createdAt: new Date().toISOString(),
      attempts: 0,
    },
    60,
  );
  await queue.enqueue(data, { attempts: 1 });
  const events = (await live.done(data.runId, 20_000)).filter((e) => e.runId === data.runId);
  const record = await createRunRecords(t.client).get(threadId, data.runId);
  const text = events.flatMap((e) => (e.type === "token" ? [e.content] : [])).join("");
  return { events, record, text };
}

describe("lone UTF-16 surrogates in a run (real Redis, real worker)", () => {
  it.each([
    { coalescing: "off", env: { TOKEN_COALESCE_MS: "0" } },
    { coalescing: "on", env: { TOKEN_COALESCE_MS: "5" } },
  ])(
    "emoji split across two tokens reach the subscriber whole; the run ends done (coalescing $coalescing)",
    async ({ env }) => {
      const { events, record, text } = await run("chunked", { size: 1, pauseMs: 1 }, env);
      expect(text).toBe(TEXT);
      expect(events.at(-1) && brief(events.at(-1)!)).toBe("done:stop");
      expect(record).toMatchObject({ status: "completed", output: { text: TEXT } });
    },
  );

  it("a progress report due between the halves of a pair waits a token: the emoji still arrives whole", async () => {
    const { events, text } = await run("chunked", { size: 1, pauseMs: 2 }, { TOKEN_COALESCE_MS: "0" }, 1);
    expect(text).toBe(TEXT);
    // Reports did come, between tokens (the interval is 1 ms, each token 2 ms apart).
    expect(events.filter((e) => e.type === "delta" && e.content.kind === "progress").length).toBeGreaterThan(
      5,
    );
    expect(brief(events.at(-1)!)).toBe("done:stop");
  });

  it("lone surrogates elsewhere arrive as U+FFFD (a trailing high one at the run's end too); the run ends done", async () => {
    const { events, record, text } = await run("lone", {}, { TOKEN_COALESCE_MS: "0" });
    expect(text).toBe("bytes \ufffd gone, cut \ufffd");
    const call = events.find((e) => e.type === "delta" && e.content.kind === "tool_call");
    expect(call?.content).toMatchObject({ args: { path: "f\ufffd" } });
    expect(events.map(brief)).toEqual([
      "status:running#1",
      "token",
      "delta:tool_call",
      "token",
      "token",
      "done:stop",
    ]);
    expect(events.at(-1)?.content).toMatchObject({ output: { text: "half \ufffd" } });
    expect(record).toMatchObject({ status: "completed", output: { text: "half \ufffd" } });
  });
});
