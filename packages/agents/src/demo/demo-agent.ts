import { abortableSleep } from "@threadline/protocol";
import { z } from "zod";
import { defaultTools } from "../tools/default-tools.js";
import { ToolError } from "../tools/tool.js";
import { createToolRegistry, type ToolRegistry } from "../tools/tool-registry.js";
import type { Agent, AgentContext, AgentEvent } from "../types.js";
import { demoAnswer, type PromptFacts } from "./demo-answer.js";
import { DemoInput } from "./demo-input.js";

export interface DemoAgentOptions {
  /** Must hold `word_count` and `calculator`; defaults to the built-in tools. */
  tools?: ToolRegistry;
  now?: () => number;
}

const STEPS = 3;

/** What the demo saves after each tool step: the tools' results so far. */
const DemoCheckpoint = z.object({ counts: z.unknown(), reading: z.unknown().optional() });
/** How many unpaced tokens may pass before yielding to the event loop (keeps aborts prompt). */
const YIELD_EVERY = 256;

/**
 * The default agent: no network, no key, deterministic for a given prompt. It plans (status
 * steps), calls two real local tools (word_count over the prompt, then calculator for the reading
 * time), streams its answer at `tokensPerSecond`, then ends with `done` and usage counts.
 */
export function createDemoAgent(options: DemoAgentOptions = {}): Agent<DemoInput> {
  const tools = options.tools ?? createToolRegistry(defaultTools());
  const now = options.now ?? Date.now;
  return {
    name: "demo",
    description:
      "Built-in demo: plans, calls the calculator and word_count tools, streams a deterministic answer.",
    inputSchema: DemoInput,
    async *run(input, ctx) {
      // Checkpointed steps: 1 = word_count, 2 = calculator; a retry resumes after the last one done,
      // without calling its tools again. Step 3, the answer, is streamed again if it was in flight.
      const saved = DemoCheckpoint.safeParse(ctx.resume?.state);
      const resumed = saved.success ? (ctx.resume?.step ?? 0) : 0;
      let counts = saved.success ? saved.data.counts : undefined;
      if (resumed < 1) {
        yield status(1, "planning");
        yield status(2, "calling tools");
        counts = yield* callTool(tools, ctx, "call_1", "word_count", { text: input.prompt });
        if (ctx.signal.aborted) return;
        await ctx.checkpoint?.(1, { counts });
      }
      const { words = 0, characters = 0 } = (counts ?? {}) as { words?: number; characters?: number };
      let reading = saved.success ? saved.data.reading : undefined;
      if (resumed < 2) {
        reading = yield* callTool(tools, ctx, "call_2", "calculator", {
          expression: `round(${words} / 200 * 60 * 10) / 10`,
        });
        if (ctx.signal.aborted) return;
        await ctx.checkpoint?.(2, { counts, reading });
      }
      const facts: PromptFacts = {
        words,
        characters,
        readingSeconds: (reading as { result?: number })?.result ?? 0,
      };
      yield status(3, "writing the answer");

      // The thread's memory: the demo shows it has one by naming the previous question.
      const previous = ctx.history?.filter((m) => m.role === "user").at(-1)?.content;
      const tokens = demoAnswer(input.prompt, facts, input.maxTokens, previous);
      const interval = input.tokensPerSecond > 0 ? 1_000 / input.tokensPerSecond : 0;
      const start = now();
      for (let i = 0; i < tokens.length; i++) {
        if (interval > 0) {
          // Pace against an absolute schedule, so timer slack does not accumulate into a slower rate.
          const wait = start + i * interval - now();
          if (wait >= 1) await abortableSleep(wait, ctx.signal);
        } else if (i % YIELD_EVERY === YIELD_EVERY - 1) {
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (ctx.signal.aborted) return;
        yield { type: "token", content: tokens[i] ?? "" };
      }
      yield {
        type: "done",
        content: {
          finishReason: "stop",
          usage: { inputTokens: words, outputTokens: tokens.length },
          output: { text: tokens.join("") },
        },
      };
    },
  };
}

function status(step: number, message: string): AgentEvent {
  return { type: "status", content: { state: "running", step, total: STEPS, message } };
}

/** Publishes a tool call and its result; a failing tool becomes an error result, not a failed run. */
async function* callTool(
  tools: ToolRegistry,
  ctx: AgentContext,
  toolCallId: string,
  name: string,
  args: Record<string, unknown>,
): AsyncGenerator<AgentEvent, unknown> {
  yield { type: "delta", content: { kind: "tool_call", toolCallId, name, args } };
  try {
    const result = await tools.run(name, args, { signal: ctx.signal });
    if (ctx.signal.aborted) return undefined;
    yield { type: "delta", content: { kind: "tool_result", toolCallId, name, result } };
    return result;
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    yield {
      type: "delta",
      content: { kind: "tool_result", toolCallId, name, result: { error: error.message }, isError: true },
    };
    return undefined;
  }
}
