import { createAgentRegistry, createOpenAiAgent, createToolRegistry, defaultTools } from "@threadline/agents";
import { ERRORS } from "@threadline/protocol";
import { createRunRecords, type RunsQueue } from "@threadline/redis";
import {
  type FakeLlmServer,
  OpenAiStream,
  openAiTextReply,
  startFakeOpenAiServer,
  uniqueId,
} from "@threadline/testing";
import { describe, expect, it } from "vitest";
import {
  brief,
  jobData,
  newPrefix,
  runToDone,
  silentLog,
  startTestWorker,
  testRegistry,
  testWorkerConfig,
  useWorkerRedis,
} from "./test-support/harness.js";

// Issue 18 item 3: a per-run budget stops the run at the limit (real Redis, real BullMQ, real worker).
const t = useWorkerRedis();

async function startWorker(agents = testRegistry(), progressIntervalMs?: number) {
  return startTestWorker(
    testWorkerConfig(t.redis.url, newPrefix()),
    {
      log: silentLog,
      agents,
      ...(progressIntervalMs === undefined ? {} : { progressIntervalMs }),
    },
    t.cleanups,
  );
}

const runToEnd = (queue: RunsQueue, data: ReturnType<typeof jobData>) => runToDone(t, queue, data);

describe("run budgets", () => {
  it("maxOutputTokens stops a 64-token demo run after exactly that many tokens: error, then done length", async () => {
    const queue = await startWorker();
    const threadId = uniqueId("budget");
    const data = jobData(
      threadId,
      "demo",
      { prompt: "Tell me a long story", tokensPerSecond: 0, maxTokens: 64 },
      { budget: { maxOutputTokens: 10 } },
    );
    const events = await runToEnd(queue, data);
    const tokens = events.filter((e) => e.type === "token");
    expect(tokens).toHaveLength(10);
    expect(events.slice(-2).map(brief)).toEqual([`error:${ERRORS.BUDGET_EXCEEDED.code}`, "done:length"]);
    const [error, done] = events.slice(-2);
    expect(error?.content).toMatchObject({
      retryable: false,
      message: expect.stringContaining("10 output tokens"),
    });
    expect(done?.content).toMatchObject({
      finishReason: "length",
      budget: { limit: "maxOutputTokens", max: 10 },
      usage: { outputTokens: 10 },
      output: { text: tokens.map((e) => e.content).join("") },
    });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const record = await createRunRecords(t.client).get(threadId, data.runId);
    expect(record).toMatchObject({ status: "completed", usage: { outputTokens: 10 } });

    // The same run without a budget streams all 64: the limit, not the agent, cut it.
    const free = await runToEnd(
      queue,
      jobData(threadId, "demo", { prompt: "Tell me a long story", tokensPerSecond: 0, maxTokens: 64 }),
    );
    expect(free.filter((e) => e.type === "token")).toHaveLength(64);
    expect(free.at(-1)?.content).toMatchObject({ finishReason: "stop", usage: { outputTokens: 64 } });
  });

  it("a long generation reports its usage every interval while it streams", async () => {
    const queue = await startWorker(testRegistry(), 200);
    const data = jobData(uniqueId("budget"), "demo", {
      prompt: "Slowly, please",
      tokensPerSecond: 40,
      maxTokens: 48,
    });
    const events = await runToEnd(queue, data);
    const progress = events.filter((e) => e.type === "delta" && e.content.kind === "progress");
    // ~1.2 s of tokens at one report per 200 ms.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    const counts = progress.map((e) => (e.content as { usage: { outputTokens: number } }).usage.outputTokens);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    // Each report counts exactly the tokens published before it.
    for (const report of progress) {
      const before = events.filter((e) => e.type === "token" && e.seq! < report.seq!).length;
      expect(report.content).toMatchObject({ usage: { outputTokens: before }, estimated: true });
    }
  });

  it("maxCostUsd stops an LLM run once the reported cost crosses it (fake OpenAI server, priced model)", async () => {
    const server: FakeLlmServer & { baseUrl: string } = await startFakeOpenAiServer();
    t.cleanups.push(() => server.close());
    // Turn 1: a tool call that used 1,000 + 500 tokens ($0.0012 at 0.4/1.6 per million); turn 2 would answer.
    server.enqueue(
      {
        kind: "sse",
        frames: new OpenAiStream()
          .role()
          .toolCall(0, "call_1", "calculator")
          .toolArgs(0, '{"expression":"6*7"}')
          .finish("tool_calls")
          .usage(1000, 500)
          .done()
          .frames(),
      },
      openAiTextReply(["The ", "answer ", "is ", "42."]),
    );
    const model = "gpt-4.1-mini";
    const agents = createAgentRegistry([
      createOpenAiAgent(
        {
          anthropic: { model: "claude-sonnet-4-6" },
          openai: { apiKey: "sk-test", model, baseUrl: server.baseUrl, api: "chat" },
          maxSteps: 4,
          prices: { [model]: { input: 0.4, output: 1.6 } },
        },
        { tools: createToolRegistry(defaultTools()) },
      ),
    ]);
    const queue = await startWorker(agents);
    const data = jobData(
      uniqueId("budget"),
      "openai",
      { prompt: "What is 6*7?" },
      { budget: { maxCostUsd: 0.001 } },
    );
    const events = await runToEnd(queue, data);
    expect(events.filter((e) => e.type === "token")).toEqual([]);
    expect(events.slice(-3).map(brief)).toEqual([
      "delta:progress",
      `error:${ERRORS.BUDGET_EXCEEDED.code}`,
      "done:length",
    ]);
    expect(events.at(-3)?.content).toMatchObject({
      usage: { inputTokens: 1000, outputTokens: 500 },
      cost: { usd: 0.0012 },
    });
    expect(events.at(-1)?.content).toMatchObject({
      finishReason: "length",
      budget: { limit: "maxCostUsd", max: 0.001, used: 0.0012 },
      cost: { usd: 0.0012 },
    });
    const record = await createRunRecords(t.client).get(data.threadId, data.runId);
    expect(record).toMatchObject({ status: "completed", cost: { usd: 0.0012 } });
  });
});
