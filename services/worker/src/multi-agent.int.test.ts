import { createResearchAgent, ResearchInput } from "@threadline/agents";
import type { ThreadEvent } from "@threadline/protocol";
import { readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import pino from "pino";
import { describe, expect, it } from "vitest";
import {
  buildTestWorker,
  jobData,
  newPrefix,
  openQueue,
  silentLog,
  testRegistry,
  testWorkerConfig,
  useTestRedis,
  watchThread,
} from "./test-support/harness.js";

const t = useTestRedis();
const prompt = "Which sub-agent finishes first when two researchers work on one question at once?";

/** Each agent path's streamed text, from the agent itself (deterministic for a prompt). */
async function expectedTexts(): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  const ctx = {
    threadId: "t",
    runId: "r",
    attempt: 1,
    signal: new AbortController().signal,
    log: pino({ level: "silent" }),
  };
  for await (const e of createResearchAgent().run(ResearchInput.parse({ prompt, tokensPerSecond: 0 }), ctx)) {
    if (e.type === "token")
      texts.set(e.agent?.join("/") ?? "", (texts.get(e.agent?.join("/") ?? "") ?? "") + e.content);
  }
  return texts;
}

describe("a multi-agent run through the worker (real Redis, real BullMQ)", () => {
  it("publishes every sub-agent's events under its path into one run with one gap-free seq, coalescing only per agent", async () => {
    const prefix = newPrefix();
    // Coalescing on (the default window): interleaved tokens of two agents must never merge.
    const worker = buildTestWorker(testWorkerConfig(t.redis.url, prefix, { TOKEN_COALESCE_MS: "20" }), {
      log: silentLog,
      agents: testRegistry(),
    });
    await worker.start();
    const queue = openQueue(t.redis.url, prefix);
    const threadId = uniqueId("th");
    const live = await watchThread(t.redis.url, threadId);
    t.cleanups.push(
      () => worker.close(),
      () => queue.close(),
      () => live.close(),
    );
    const data = jobData(threadId, "research", { prompt, tokensPerSecond: 300 });
    await queue.enqueue(data, { attempts: 1 });
    await live.until((events) => events.some((e) => e.type === "done"));

    const events = (await readLog(t.client, threadId, "0", 1_000)).entries.map(
      (entry) => JSON.parse(entry.json) as ThreadEvent,
    );
    const run = events.filter((e) => e.runId === data.runId);
    expect(run.map((e) => e.seq)).toEqual(run.map((_, i) => i + 1));
    const texts = new Map<string, string>();
    for (const e of run.filter((e) => e.type === "token")) {
      const path = e.agent?.join("/");
      expect(path, "every token carries its agent's path").toBeDefined();
      texts.set(path ?? "", (texts.get(path ?? "") ?? "") + e.content);
    }
    expect(texts).toEqual(await expectedTexts());
    // Both sub-agents streamed concurrently: their events interleave in the log.
    const subAgents = run.filter((e) => e.agent?.length === 2).map((e) => e.agent?.join("/"));
    expect(subAgents.filter((p, i) => i > 0 && p !== subAgents[i - 1]).length).toBeGreaterThan(1);
    expect(run.at(-1)).toMatchObject({
      type: "done",
      content: { output: { text: texts.get("supervisor") } },
    });
  });
});
