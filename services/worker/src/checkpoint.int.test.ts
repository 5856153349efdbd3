import {
  type Agent,
  AgentError,
  calculator,
  createAgentRegistry,
  createAnthropicAgent,
  createDemoAgent,
  createResearchAgent,
  createToolRegistry,
  defineTool,
  type Tool,
  wordCount,
} from "@threadline/agents";
import { createReducedRun, reduceRun, type ThreadEvent } from "@threadline/protocol";
import { AnthropicStream, anthropicTextReply, startFakeAnthropicServer, uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_CHECKPOINT_STATE_BYTES } from "./run-processor.js";
import {
  brief,
  jobData,
  newPrefix,
  runToDone,
  silentLog,
  startTestWorker,
  testWorkerConfig,
  useWorkerRedis,
} from "./test-support/harness.js";

// Issue 18 item 4: a retried attempt resumes after its last checkpointed step (real Redis, BullMQ, worker).
const t = useWorkerRedis();

/** Tools that count their runs: the side effect a resumed attempt must not repeat. */
function countingTools() {
  const runs = { word_count: 0, calculator: 0 };
  const counting = (tool: Tool): Tool =>
    defineTool({
      ...tool,
      async run(input, ctx) {
        runs[tool.name as keyof typeof runs] += 1;
        return tool.run(input, ctx);
      },
    });
  return { runs, tools: createToolRegistry([counting(calculator as Tool), counting(wordCount as Tool)]) };
}

/** The agent, failing (retryably) on its first attempt when `failWhen` sees an event it emitted. */
function failingOnce(
  agent: Agent,
  failWhen: (event: { type: string; content: unknown }, count: number) => boolean,
): Agent {
  return {
    ...agent,
    async *run(input, ctx) {
      let count = 0;
      for await (const event of agent.run(input, ctx)) {
        if (ctx.attempt === 1 && failWhen(event, ++count)) {
          throw new AgentError("PROVIDER_UNAVAILABLE", "the first attempt breaks here", true);
        }
        yield event;
      }
    },
  };
}

async function run(agent: Agent, input: Record<string, unknown>) {
  const queue = await startTestWorker(
    testWorkerConfig(t.redis.url, newPrefix(), { RUN_BACKOFF_MS: "10" }),
    { log: silentLog, agents: createAgentRegistry([agent]) },
    t.cleanups,
  );
  const data = jobData(uniqueId("ckpt"), agent.name, input);
  return runToDone(t, queue, data, { attempts: 2, backoff: { type: "fixed", delay: 10 } });
}

const answerOf = (events: ThreadEvent[]) =>
  (events.at(-1)?.content as { output?: { text?: string } } | undefined)?.output?.text;
const reduce = (events: ThreadEvent[]) => events.reduce((v, e) => reduceRun(v, e, 0), createReducedRun());

describe("checkpoints", () => {
  it("research: an attempt that fails after the sub-agents finished resumes at the answer — no tool runs twice", async () => {
    const { runs, tools } = countingTools();
    const agent = failingOnce(
      createResearchAgent({ tools }),
      (e) => e.type === "status" && (e.content as { step?: number }).step === 3,
    );
    const events = await run(agent, {
      prompt: "Why do resumable streams need monotonic ids?",
      tokensPerSecond: 0,
    });
    const kinds = events.map(brief);

    // Each sub-agent's tool ran once, and its call and result were published once.
    expect(runs.word_count).toBe(2);
    const toolEvents = events.flatMap((e) =>
      e.type === "delta" && ["tool_call", "tool_result"].includes(e.content.kind)
        ? [`${(e.agent ?? []).join("/")}:${e.content.kind}:${String(e.content.name)}`]
        : [],
    );
    expect(toolEvents).toHaveLength(8);
    expect(toolEvents.slice(0, 2)).toEqual([":tool_call:researcher", ":tool_call:critic"]);
    // The sub-agents run concurrently: their four events interleave in any order.
    expect(toolEvents.slice(2, 6).sort()).toEqual([
      "supervisor/critic:tool_call:word_count",
      "supervisor/critic:tool_result:word_count",
      "supervisor/researcher:tool_call:word_count",
      "supervisor/researcher:tool_result:word_count",
    ]);
    expect(toolEvents.slice(6)).toEqual([":tool_result:researcher", ":tool_result:critic"]);

    const retry = events.find((e) => e.type === "status" && e.content.state === "retrying");
    expect(retry?.content).toEqual({ state: "retrying", attempt: 2, resumedFromStep: 2 });
    // After the retry: only the answer step — no sub-agent event, no token of theirs again.
    const after = events.slice(events.indexOf(retry!) + 1);
    expect(after.some((e) => e.agent !== undefined)).toBe(false);
    expect(after.map(brief)[0]).toBe("status:running");
    expect(kinds.at(-1)).toBe("done:stop");
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    // What a client reduces: the answer once, each sub-agent's findings once.
    const view = reduce(events);
    expect(view.text).toMatch(/^Here is what my two researchers found/);
    expect(view.text).toBe(answerOf(events));
    expect(view.agents.map((a) => a.path.join("/"))).toEqual(["supervisor/researcher", "supervisor/critic"]);
    expect(view.agents[0]?.text).toBe(
      events
        .filter((e) => e.type === "token" && e.agent?.[1] === "researcher")
        .map((e) => e.content)
        .join(""),
    );
  });

  it("demo: a failure mid-answer resumes after the tool steps; the reducer drops the partial answer", async () => {
    const { runs, tools } = countingTools();
    let tokens = 0;
    const agent = failingOnce(createDemoAgent({ tools }), (e) => e.type === "token" && ++tokens > 5);
    const events = await run(agent, {
      prompt: "Resume me after the tools",
      tokensPerSecond: 0,
      maxTokens: 30,
    });

    expect(runs).toEqual({ word_count: 1, calculator: 1 });
    expect(events.filter((e) => e.type === "delta" && e.content.kind === "tool_result")).toHaveLength(2);
    const retry = events.find((e) => e.type === "status" && e.content.state === "retrying");
    expect(retry?.content).toEqual({ state: "retrying", attempt: 2, resumedFromStep: 2 });
    // The first attempt streamed 5 tokens of the answer, the second all 30 (the step in flight is redone).
    expect(events.filter((e) => e.type === "token")).toHaveLength(35);
    const view = reduce(events);
    expect(view.text).toBe(answerOf(events));
    expect(view.toolCalls.map((c) => [c.name, c.state])).toEqual([
      ["word_count", "done"],
      ["calculator", "done"],
    ]);
    expect(view.finished).toBe(true);
  });

  it("anthropic: a failure mid-answer resumes after the tool's result — the model is sent the same conversation, the tool runs once", async () => {
    const { runs, tools } = countingTools();
    const server = await startFakeAnthropicServer();
    t.cleanups.push(() => server.close());
    const toolTurn = {
      kind: "sse" as const,
      frames: new AnthropicStream()
        .messageStart(30)
        .thinkingBlock(0, "Count first.")
        .textBlock(1, "Let me count.")
        .toolUseBlock(2, "toolu_1", "word_count", '{"text":"a b c"}')
        .messageDelta("tool_use", 20)
        .messageStop()
        .frames(),
    };
    // Answers what it is asked: a run that started over would call the tool again.
    server.setFallback((request) =>
      JSON.stringify((request.body as { messages?: unknown[] }).messages?.at(-1)).includes("tool_result")
        ? anthropicTextReply(["Three ", "words."], { inputTokens: 60 })
        : toolTurn,
    );
    let tokens = 0;
    const anthropic = createAnthropicAgent(
      {
        anthropic: { apiKey: "sk-ant-test", model: "claude-sonnet-4-6", baseUrl: server.url },
        openai: { model: "gpt-4.1-mini" },
        maxSteps: 5,
        prices: {},
      },
      { tools },
    ) as Agent;
    // Attempt 1 breaks at the answer's second token: "Let me count." and "Three " were published.
    const agent = failingOnce(anthropic, (e) => e.type === "token" && ++tokens === 3);
    const events = await run(agent, {
      prompt: "How many words in 'a b c'?",
      reasoning: { budgetTokens: 1024 },
    });

    expect(runs).toEqual({ word_count: 1, calculator: 0 });
    const retry = events.find((e) => e.type === "status" && e.content.state === "retrying");
    // Checkpoints: 1 = the turn that called word_count, 2 = its result.
    expect(retry?.content).toEqual({ state: "retrying", attempt: 2, resumedFromStep: 2 });
    const after = events.slice(events.indexOf(retry!) + 1);
    expect(after.filter((e) => e.type === "delta" && e.content.kind.startsWith("tool_"))).toEqual([]);
    expect(after.filter((e) => e.type === "token").map((e) => e.content)).toEqual(["Three ", "words."]);
    // The retry asked only for the answer, with what attempt 1 had sent for it (thinking signature included).
    expect(server.requests).toHaveLength(3);
    expect(server.requests[2]?.body).toEqual(server.requests[1]?.body);
    // What a client reduces: turn 1's text, then the answer once (its partial first try dropped).
    const view = reduce(events);
    expect(view.text).toBe("Let me count.Three words.");
    expect(view.toolCalls.map((c) => [c.name, c.state])).toEqual([["word_count", "done"]]);
    expect(events.at(-1)?.content).toMatchObject({
      finishReason: "stop",
      usage: { inputTokens: 90, outputTokens: 22 },
      output: { text: "Three words.", steps: 2 },
    });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it("a checkpoint too large for one event is skipped: the run goes on, and a retry resumes after the one before it", async () => {
    const resumedAfter: (number | undefined)[] = [];
    const agent: Agent = {
      name: "big",
      description: "checkpoints a state too large for the log",
      inputSchema: z.object({}),
      async *run(_input, ctx) {
        resumedAfter.push(ctx.resume?.step);
        if (ctx.resume === undefined) {
          yield { type: "token", content: "a" };
          await ctx.checkpoint?.(1, { small: true });
          await ctx.checkpoint?.(2, { blob: "x".repeat(MAX_CHECKPOINT_STATE_BYTES) });
          // Still running after the skipped checkpoint (a refused publish would have failed it here).
          yield { type: "token", content: "b" };
          throw new AgentError("PROVIDER_UNAVAILABLE", "the first attempt breaks here", true);
        }
        yield { type: "token", content: "c" };
        yield { type: "done", content: { finishReason: "stop" } };
      },
    };
    const events = await run(agent, {});

    expect(resumedAfter).toEqual([undefined, 1]);
    const checkpoints = events.filter((e) => e.type === "delta" && e.content.kind === "checkpoint");
    expect(checkpoints.map((e) => e.content)).toEqual([
      { kind: "checkpoint", step: 1, state: { small: true } },
    ]);
    const retry = events.find((e) => e.type === "status" && e.content.state === "retrying");
    expect(retry?.content).toMatchObject({ attempt: 2, resumedFromStep: 1 });
    const tokens = (list: ThreadEvent[]) => list.flatMap((e) => (e.type === "token" ? [e.content] : []));
    expect(tokens(events.slice(0, events.indexOf(retry!)))).toEqual(["a", "b"]);
    expect(tokens(events.slice(events.indexOf(retry!)))).toEqual(["c"]);
    expect(events.at(-1)?.content).toMatchObject({ finishReason: "stop" });
  });
});
