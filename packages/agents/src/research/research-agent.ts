import type { AgentPath } from "@threadline/protocol";
import { paceTokens } from "../pace-tokens.js";
import { callTool } from "../tools/call-tool.js";
import { defaultTools } from "../tools/default-tools.js";
import { createToolRegistry, type ToolRegistry } from "../tools/tool-registry.js";
import type { Agent, AgentContext, AgentEvent } from "../types.js";
import { analystReport, estimatorReport, keyTerms, supervisorAnswer, tokensOf } from "./findings.js";
import { mergeStreams } from "./merge-streams.js";
import { ResearchInput } from "./research-input.js";

export interface ResearchAgentOptions {
  /** Must hold `word_count` and `calculator`; defaults to the built-in tools. */
  tools?: ToolRegistry;
  now?: () => number;
}

const SUPERVISOR: AgentPath = ["supervisor"];
const STEPS = 3;

/** What a sub-agent hands the merge: an event to publish, or (last) its report to the supervisor. */
type SubAgentItem = { event: AgentEvent } | { report: string; name: string };

/**
 * The built-in multi-agent demo (no key, no network, deterministic for a prompt): a supervisor plans,
 * runs two sub-agents as tools, concurrently — an analyst (word_count, key terms) and an estimator
 * (calculator, reading and speaking time) — each streaming its tool calls and report under its own
 * `agent` path into the same run, then writes the answer from their reports.
 */
export function createResearchAgent(options: ResearchAgentOptions = {}): Agent<ResearchInput> {
  const tools = options.tools ?? createToolRegistry(defaultTools());
  const now = options.now ?? Date.now;
  return {
    name: "research",
    description:
      "Built-in multi-agent demo: a supervisor runs an analyst and an estimator in parallel, then answers from their reports.",
    inputSchema: ResearchInput,
    async *run(input, ctx) {
      let outputTokens = 0;
      const as = (agent: AgentPath, event: AgentEvent): AgentEvent => {
        if (event.type === "token") outputTokens++;
        return { ...event, agent };
      };
      const words = input.prompt.split(/\s+/u).filter((w) => w.length > 0).length;

      yield as(SUPERVISOR, status(1, "planning"));
      yield as(SUPERVISOR, {
        type: "delta",
        content: {
          kind: "reasoning",
          id: "plan",
          text: "To answer I need what the question is about and how long it is. The analyst can find its key terms and the estimator can time it; neither needs the other, so both run at once.",
        },
      });
      yield as(SUPERVISOR, status(2, "researching"));
      const subAgents = [
        { name: "analyst", run: analyst },
        { name: "estimator", run: estimator },
      ];
      for (const { name } of subAgents) {
        yield as(SUPERVISOR, {
          type: "delta",
          content: { kind: "tool_call", toolCallId: `agent_${name}`, name, args: { prompt: input.prompt } },
        });
      }
      const reports = new Map<string, string>();
      for await (const item of mergeStreams(subAgents.map(({ run }) => run(input, ctx)))) {
        if ("event" in item) {
          if (item.event.type === "token") outputTokens++;
          yield item.event;
          continue;
        }
        reports.set(item.name, item.report);
        yield as(SUPERVISOR, {
          type: "delta",
          content: {
            kind: "tool_result",
            toolCallId: `agent_${item.name}`,
            name: item.name,
            result: { report: item.report },
          },
        });
      }
      if (ctx.signal.aborted) return;

      yield as(SUPERVISOR, status(3, "writing the answer"));
      const answer = supervisorAnswer(
        input.prompt,
        words,
        keyTerms(input.prompt),
        reports.get("analyst") ?? "",
        reports.get("estimator") ?? "",
      );
      for await (const event of paceTokens(tokensOf(answer), input.tokensPerSecond, ctx.signal, now)) {
        yield as(SUPERVISOR, event);
      }
      if (ctx.signal.aborted) return;
      yield as(SUPERVISOR, {
        type: "done",
        content: {
          finishReason: "stop",
          usage: { inputTokens: words, outputTokens },
          output: { text: answer },
        },
      });
    },
  };

  /** Finds the key terms: counts the words with word_count, then reports. */
  async function* analyst(input: ResearchInput, ctx: AgentContext): AsyncGenerator<SubAgentItem> {
    const path: AgentPath = [...SUPERVISOR, "analyst"];
    const calls = callTool(tools, ctx, "analyst_call_1", "word_count", { text: input.prompt });
    const counts = yield* tagged(path, calls);
    if (ctx.signal.aborted) return;
    const { words = 0, characters = 0 } = (counts ?? {}) as { words?: number; characters?: number };
    const report = analystReport(words, characters, keyTerms(input.prompt));
    yield* tagged(path, paceTokens(tokensOf(report), input.tokensPerSecond, ctx.signal, now));
    yield { report, name: "analyst" };
  }

  /** Times the question with the calculator: silent reading and reading aloud. */
  async function* estimator(input: ResearchInput, ctx: AgentContext): AsyncGenerator<SubAgentItem> {
    const path: AgentPath = [...SUPERVISOR, "estimator"];
    const counts = yield* tagged(
      path,
      callTool(tools, ctx, "estimator_call_1", "word_count", { text: input.prompt }),
    );
    const { words = 0 } = (counts ?? {}) as { words?: number };
    const seconds = async function* (id: string, wordsPerMinute: number) {
      const result = yield* callTool(tools, ctx, id, "calculator", {
        expression: `round(${words} / ${wordsPerMinute} * 60 * 10) / 10`,
      });
      return (result as { result?: number } | undefined)?.result ?? 0;
    };
    const reading = yield* tagged(path, seconds("estimator_call_2", 200));
    const speaking = yield* tagged(path, seconds("estimator_call_3", 130));
    if (ctx.signal.aborted) return;
    const report = estimatorReport(reading, speaking);
    yield* tagged(path, paceTokens(tokensOf(report), input.tokensPerSecond, ctx.signal, now));
    yield { report, name: "estimator" };
  }
}

/** Passes a sub-agent's events on under its path, returning the stream's own return value. */
async function* tagged<R>(
  agent: AgentPath,
  events: AsyncGenerator<AgentEvent, R>,
): AsyncGenerator<SubAgentItem, R> {
  for (;;) {
    const next = await events.next();
    if (next.done) return next.value;
    yield { event: { ...next.value, agent } };
  }
}

function status(step: number, message: string): AgentEvent {
  return { type: "status", content: { state: "running", step, total: STEPS, message } };
}
