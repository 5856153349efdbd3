import { abortableSleep } from "@threadline/protocol";
import { z } from "zod";
import { ChatHistory } from "../ai-sdk/chat-history.js";
import { mergeStreams } from "../merge-streams.js";
import { defaultTools } from "../tools/default-tools.js";
import { createToolRegistry, type ToolRegistry } from "../tools/tool-registry.js";
import type { Agent, AgentContext, AgentEvent } from "../types.js";
import { backgroundFindings, finalAnswer, keyTerms, tradeoffFindings } from "./research-text.js";

/** Input of the `research` agent: a question; no key, no network. */
export const ResearchInput = z.strictObject({
  prompt: z.string().min(1).max(32_000),
  /** Earlier turns of a chat (a `useChat` transport sends them); the agent answers the prompt. */
  messages: ChatHistory.optional(),
  /** Speed of every agent's text; 0 streams as fast as possible. */
  tokensPerSecond: z.number().min(0).max(1_000_000).default(50),
});
export type ResearchInput = z.infer<typeof ResearchInput>;

export interface ResearchAgentOptions {
  /** Must hold `word_count`; defaults to the built-in tools. */
  tools?: ToolRegistry;
}

/** The supervisor's path; its sub-agents' paths extend it. The supervisor is the run's root agent. */
export const SUPERVISOR = "supervisor";
const STEPS = 3;

interface SubAgent {
  name: string;
  /** What the supervisor asks it (the arguments of its tool call). */
  question: string;
  findings(prompt: string, words: number): string;
}

/**
 * The built-in multi-agent demo: a supervisor (the run's root agent, events without `agent`) plans,
 * calls two sub-agents as tools — `researcher` (background) and `critic` (trade-offs) — which run
 * concurrently, each streaming its own status, tool call and findings under its path
 * (`["supervisor","researcher"]`, `["supervisor","critic"]`) into the same run, then writes the
 * answer from their results. Deterministic for a prompt, no network, no key.
 */
export function createResearchAgent(options: ResearchAgentOptions = {}): Agent<ResearchInput> {
  const tools = options.tools ?? createToolRegistry(defaultTools());
  return {
    name: "research",
    description:
      "Built-in multi-agent demo: a supervisor runs a researcher and a critic in parallel, then writes the answer from their findings.",
    inputSchema: ResearchInput,
    async *run(input, ctx) {
      const terms = keyTerms(input.prompt);
      // Checkpointed steps: 1 = the plan, 2 = both sub-agents' results. A retry resumes after the last
      // one done: finished sub-agents are not run again (nor their tools), their tokens not re-streamed.
      const saved = ResearchCheckpoint.safeParse(ctx.resume?.state);
      const resumed = saved.success ? (ctx.resume?.step ?? 0) : 0;
      const subAgents: SubAgent[] = [
        {
          name: "researcher",
          question: `What background does a reader need about ${terms.topic}?`,
          findings: (prompt, words) => backgroundFindings(keyTerms(prompt), words),
        },
        {
          name: "critic",
          question: `What are the trade-offs in ${terms.topic}?`,
          findings: (prompt) => tradeoffFindings(keyTerms(prompt)),
        },
      ];
      if (resumed < 1) {
        yield status(1, "planning");
        yield {
          type: "delta",
          content: {
            kind: "reasoning",
            id: "plan",
            text: `I will ask a researcher for background on ${terms.topic} and a critic for its trade-offs, in parallel, then answer from what they find.`,
          },
        };
        for (const sub of subAgents) {
          yield {
            type: "delta",
            content: {
              kind: "tool_call",
              toolCallId: callId(sub),
              name: sub.name,
              args: { question: sub.question },
            },
          };
        }
        await ctx.checkpoint?.(1, {});
      }
      let results = saved.success ? (saved.data.results ?? []) : [];
      if (resumed < 2) {
        yield status(2, "researching");
        results = yield* mergeStreams(
          subAgents.map((sub) => runSubAgent(sub, input, ctx, tools)[Symbol.asyncIterator]()),
        );
        if (ctx.signal.aborted) return;
        for (const [i, sub] of subAgents.entries()) {
          yield {
            type: "delta",
            content: {
              kind: "tool_result",
              toolCallId: callId(sub),
              name: sub.name,
              result: { text: results[i] ?? "" },
            },
          };
        }
        await ctx.checkpoint?.(2, { results });
      }
      yield status(3, "writing the answer");
      const answer = finalAnswer(terms, results[0] ?? "", results[1] ?? "");
      const tokens = yield* streamText(answer, input.tokensPerSecond, ctx);
      if (ctx.signal.aborted) return;
      yield {
        type: "done",
        content: {
          finishReason: "stop",
          usage: { inputTokens: terms.words, outputTokens: tokens },
          output: { text: answer },
        },
      };
    },
  };
}

const callId = (sub: SubAgent) => `agent_${sub.name}`;

/** What the supervisor saves: nothing after its plan, the sub-agents' texts after step 2. */
const ResearchCheckpoint = z.object({ results: z.array(z.string()).optional() });

function status(step: number, message: string): AgentEvent {
  return { type: "status", content: { state: "running", step, total: STEPS, message } };
}

/** One sub-agent: its own status, a real tool call, its findings streamed; returns its text. */
async function* runSubAgent(
  sub: SubAgent,
  input: ResearchInput,
  ctx: AgentContext,
  tools: ToolRegistry,
): AsyncGenerator<AgentEvent, string> {
  const agent = [SUPERVISOR, sub.name];
  yield { type: "status", agent, content: { state: "running", message: sub.question } };
  const toolCallId = `${sub.name}_word_count`;
  const args = { text: input.prompt };
  yield { type: "delta", agent, content: { kind: "tool_call", toolCallId, name: "word_count", args } };
  const counted = (await tools.run("word_count", args, { signal: ctx.signal })) as { words?: number };
  if (ctx.signal.aborted) return "";
  yield {
    type: "delta",
    agent,
    content: { kind: "tool_result", toolCallId, name: "word_count", result: counted },
  };
  const text = sub.findings(input.prompt, counted.words ?? 0);
  for await (const event of streamText(text, input.tokensPerSecond, ctx)) yield { ...event, agent };
  if (ctx.signal.aborted) return "";
  yield { type: "status", agent, content: { state: "completed" } };
  return text;
}

/** Streams `text` word by word at `tokensPerSecond` (0: as fast as possible); returns the count. */
async function* streamText(
  text: string,
  tokensPerSecond: number,
  ctx: AgentContext,
): AsyncGenerator<AgentEvent, number> {
  const words = text.split(" ").map((w, i) => (i === 0 ? w : ` ${w}`));
  const interval = tokensPerSecond > 0 ? 1_000 / tokensPerSecond : 0;
  const start = Date.now();
  for (let i = 0; i < words.length; i++) {
    const wait = start + i * interval - Date.now();
    // Unpaced, still yield to the event loop now and then so the sibling agent streams too.
    if (wait >= 1) await abortableSleep(wait, ctx.signal);
    else if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    if (ctx.signal.aborted) return i;
    yield { type: "token", content: words[i] ?? "" };
  }
  return words.length;
}
