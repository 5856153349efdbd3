import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import type { ThreadEvent } from "@threadline/protocol";
import { RUN_BACKOFF_TYPE, type RunsQueue } from "@threadline/redis";
import {
  type FakeLlmServer,
  getTestRedis,
  openAiErrorReply,
  openAiTextReply,
  startFakeOpenAiServer,
  type TestRedis,
  uniqueId,
} from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  brief,
  jobData,
  newPrefix,
  silentLog,
  startTestWorker,
  testWorkerConfig,
  watchThread,
} from "./test-support/harness.js";

// The openai agent in a real worker against a fake LLM server: a 429's retry-after sets the delay
// before the next attempt (runBackoffStrategy), instead of the job's exponential backoff.
let redis: TestRedis;
let llm: FakeLlmServer & { baseUrl: string };
let runQueue: RunsQueue;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await getTestRedis();
  llm = await startFakeOpenAiServer();
  const config = testWorkerConfig(redis.url, newPrefix(), {
    OPENAI_BASE_URL: llm.baseUrl,
    OPENAI_MODEL: "fake",
  });
  runQueue = await startTestWorker(
    config,
    { log: silentLog, agents: createAgentRegistry(defaultAgents({ providers: config.providers })) },
    cleanups,
  );
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await llm.close();
  await redis.stop();
});

/** Runs one job whose first attempt gets `firstReply`; returns its events and the wait before attempt 2. */
async function retriedRun(firstReply: Parameters<FakeLlmServer["enqueue"]>[0]) {
  llm.enqueue(firstReply, openAiTextReply(["ok"]));
  const threadId = uniqueId("ra");
  const watch = await watchThread(redis.url, threadId);
  try {
    const data = jobData(threadId, "openai", { prompt: "hi" });
    await runQueue.enqueue(data, { attempts: 3, backoff: { type: RUN_BACKOFF_TYPE, delay: 20 } });
    const events = await watch.done(data.runId, 20_000);
    const at = (predicate: (e: ThreadEvent) => boolean) => events.find(predicate)?.ts ?? Number.NaN;
    const waitedMs =
      at((e) => e.type === "status" && e.content.state === "retrying") - at((e) => e.type === "error");
    return { events: events.map(brief), waitedMs };
  } finally {
    await watch.close();
  }
}

describe("retry-after from an LLM provider sets the delay before the next attempt", () => {
  it("a 429 with retry-after: 1 waits about a second, then the retry succeeds", async () => {
    const { events, waitedMs } = await retriedRun(
      openAiErrorReply(429, "Rate limit reached", { type: "requests", headers: { "retry-after": "1" } }),
    );
    expect(events).toEqual([
      "status:running#1",
      "error:PROVIDER_RATE_LIMITED",
      "status:retrying#2",
      "status:running#2",
      "token",
      "delta:progress",
      "done:stop",
    ]);
    expect(waitedMs).toBeGreaterThanOrEqual(950);
    expect(waitedMs).toBeLessThan(5_000);
  });

  it("a 503 without retry-after falls back to the job's exponential backoff (20 ms here)", async () => {
    const { events, waitedMs } = await retriedRun(
      openAiErrorReply(503, "overloaded", { type: "server_error" }),
    );
    expect(events).toEqual([
      "status:running#1",
      "error:PROVIDER_UNAVAILABLE",
      "status:retrying#2",
      "status:running#2",
      "token",
      "delta:progress",
      "done:stop",
    ]);
    expect(waitedMs).toBeLessThan(900);
  });
});
