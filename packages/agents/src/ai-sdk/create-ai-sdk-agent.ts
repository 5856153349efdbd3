import {
  type JSONValue,
  type LanguageModel,
  type ModelMessage,
  streamText,
  type ToolCallPart,
  type ToolSet,
} from "ai";
import type { z } from "zod";
import { doneEvent } from "../providers/done-event.js";
import type { ModelPrices } from "../providers/llm-config.js";
import { disconnected, type ErrorSource, toAgentError } from "../providers/provider-errors.js";
import type { ToolRegistry } from "../tools/tool-registry.js";
import type { Agent, AgentContext, AgentEvent } from "../types.js";
import { describeTools, toolErrorMessage } from "./ai-sdk-tools.js";
import { addUsage, mapTurnStream, type TurnEnd, toolResultEvent } from "./map-turn-stream.js";
import {
  calledTools,
  pendingToolCalls,
  type RunConversation,
  restoreConversation,
  withToolResult,
} from "./run-conversation.js";

/** Per-provider options (`{ anthropic: { thinking } }`, `{ openai: { reasoningSummary } }`). */
export type ProviderOptions = NonNullable<Parameters<typeof streamText>[0]["providerOptions"]>;

/** One run's call to the model, built from the validated input. */
export interface AiSdkCall {
  model: LanguageModel;
  /** The model's name, for the `done` output and the price table. */
  modelName: string;
  system?: string;
  messages: ModelMessage[];
  /** Model turns (each may call tools). */
  maxSteps: number;
  maxOutputTokens?: number;
  providerOptions?: ProviderOptions;
}

export interface AiSdkAgentSpec<I> {
  name: string;
  description: string;
  /** Set when the agent cannot run here (e.g. no key): it is listed as unavailable with this reason. */
  unavailableReason?: string;
  inputSchema: z.ZodType<I>;
  call(input: I, ctx: AgentContext): AiSdkCall;
  /** The tools the model may call; none when absent. */
  tools?: ToolRegistry;
  prices?: ModelPrices;
  /** Which provider and variables error messages name. */
  errors: ErrorSource;
}

/**
 * An agent on the Vercel AI SDK: any `LanguageModel` (`@ai-sdk/anthropic`, `@ai-sdk/openai`,
 * `@ai-sdk/openai-compatible`, …) driven one turn at a time by `streamText`, each turn's full stream
 * mapped onto Threadline events by `mapTurnStream`, the tools it asks for run by the agent itself.
 *
 * Every completed step is checkpointed (`ctx.checkpoint`) with the conversation so far (`RunConversation`):
 * a model turn that asked for tools, then each tool result. A retried attempt rebuilds the conversation
 * from the latest checkpoint and goes on after it — the tools that ran are not run again, the turns
 * that finished are not asked (nor streamed) again; the step in flight is redone.
 */
export function createAiSdkAgent<I>(spec: AiSdkAgentSpec<I>): Agent<I> {
  const tools = spec.tools ? describeTools(spec.tools) : undefined;
  return {
    name: spec.name,
    description: spec.description,
    ...(spec.unavailableReason === undefined ? {} : { unavailableReason: spec.unavailableReason }),
    inputSchema: spec.inputSchema,
    run: (input, ctx) => runAgent(spec, tools, input, ctx),
  };
}

async function* runAgent<I>(
  spec: AiSdkAgentSpec<I>,
  tools: ToolSet | undefined,
  input: I,
  ctx: AgentContext,
): AsyncGenerator<AgentEvent> {
  const call = spec.call(input, ctx);
  // Our own controller as well as the run's: leaving early (an error part thrown) must close the
  // provider's HTTP stream too, not leave it running until the socket times out.
  const local = new AbortController();
  const signal = AbortSignal.any([ctx.signal, local.signal]);
  let run = resumed(ctx);
  let step = run ? (ctx.resume?.step ?? 0) : 0;
  const checkpoint = async (state: RunConversation) => {
    step += 1;
    await ctx.checkpoint?.(step, state);
  };
  try {
    for (;;) {
      if (run) {
        if (goesOn(run) && spec.tools) {
          run = yield* runToolCalls(spec.tools, run, signal, checkpoint);
          if (signal.aborted) return;
        }
        if (!goesOn(run) || run.turns >= call.maxSteps) {
          yield finishEvent(run, call, spec.prices ?? {});
          return;
        }
      }
      const turns = run?.turns ?? 0;
      const usage = run?.usage ?? { inputTokens: 0, outputTokens: 0 };
      const result = streamText({
        model: call.model,
        ...(call.system ? { system: call.system } : {}),
        messages: [...call.messages, ...(run?.messages ?? [])],
        ...(tools && Object.keys(tools).length > 0 ? { tools } : {}),
        ...(call.maxOutputTokens ? { maxOutputTokens: call.maxOutputTokens } : {}),
        ...(call.providerOptions ? { providerOptions: call.providerOptions } : {}),
        // BullMQ is the one retry mechanism: SDK retries would multiply attempts and hide the waits.
        maxRetries: 0,
        abortSignal: signal,
        // Errors arrive as `error` parts and become AgentErrors; the default would print them to stderr.
        onError: () => {},
      });
      const end: TurnEnd | undefined = yield* mapTurnStream(result.fullStream, {
        model: call.modelName,
        step: turns + 1,
        maxSteps: call.maxSteps,
        attempt: ctx.attempt,
        usedBefore: usage,
        prices: spec.prices ?? {},
        errors: spec.errors,
      });
      if (signal.aborted) return;
      if (!end) throw disconnected(spec.errors.provider, "the stream ended before the model finished");
      const { messages } = await result.response;
      run = {
        turns: turns + 1,
        usage: addUsage(usage, end.usage),
        last: {
          finishReason: end.finishReason,
          ...(end.rawFinishReason === undefined ? {} : { rawFinishReason: end.rawFinishReason }),
          text: end.text,
        },
        messages: [...(run?.messages ?? []), ...messages],
      };
      // A turn that asked for tools is a step: the next attempt must not ask the model again.
      if (goesOn(run)) await checkpoint(run);
    }
  } catch (error) {
    // A broken body can also fail the stream itself rather than arrive as an `error` part.
    if (ctx.signal.aborted) return;
    throw toAgentError(error, spec.errors);
  } finally {
    local.abort();
  }
}

/** The conversation of the checkpoint this attempt resumes after, if any (and readable). */
function resumed(ctx: AgentContext): RunConversation | undefined {
  if (ctx.resume === undefined) return undefined;
  const run = restoreConversation(ctx.resume.state);
  if (run === undefined)
    ctx.log.warn(
      { step: ctx.resume.step },
      "the checkpoint holds no conversation we can read; starting over",
    );
  return run;
}

/**
 * The model asks again after its tools' results — when the turn called tools of ours and stopped to
 * have them run (the SDK's rule: a turn cut by its token limit runs no tools and ends the run).
 */
function goesOn(run: RunConversation): boolean {
  if (!calledTools(run.messages)) return false;
  const { finishReason } = run.last;
  return (
    finishReason === "stop" || finishReason === "tool-calls" || pendingToolCalls(run.messages).length === 0
  );
}

/**
 * Runs the latest turn's tool calls that have no result yet, concurrently, publishing each result and
 * checkpointing the conversation with it as it lands. A failing tool is an error result the model sees,
 * never a failed run. Returns at once, with what landed, when the run is aborted.
 */
async function* runToolCalls(
  registry: ToolRegistry,
  run: RunConversation,
  signal: AbortSignal,
  checkpoint: (state: RunConversation) => Promise<void>,
): AsyncGenerator<AgentEvent, RunConversation> {
  const running = new Map(
    pendingToolCalls(run.messages).map((call) => [call.toolCallId, runToolCall(registry, call, signal)]),
  );
  let state = run;
  while (running.size > 0) {
    const landed = await Promise.race(running.values());
    running.delete(landed.call.toolCallId);
    if (signal.aborted) return state;
    const { call, outcome } = landed;
    const failed = outcome.kind === "error";
    yield toolResultEvent(
      call.toolCallId,
      call.toolName,
      failed ? { error: outcome.message } : { value: outcome.value },
    );
    state = {
      ...state,
      messages: withToolResult(state.messages, {
        type: "tool-result",
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        // What the SDK itself would send the model for this result.
        output: failed
          ? { type: "error-text", value: outcome.message }
          : typeof outcome.value === "string"
            ? { type: "text", value: outcome.value }
            : { type: "json", value: (outcome.value ?? null) as JSONValue },
      }),
    };
    await checkpoint(state);
  }
  return state;
}

type ToolOutcome = { kind: "ok"; value: unknown } | { kind: "error"; message: string };

async function runToolCall(
  registry: ToolRegistry,
  call: ToolCallPart,
  signal: AbortSignal,
): Promise<{ call: ToolCallPart; outcome: ToolOutcome }> {
  try {
    const value = await registry.run(call.toolName, call.input, { signal });
    return { call, outcome: { kind: "ok", value } };
  } catch (error) {
    return { call, outcome: { kind: "error", message: toolErrorMessage(error) } };
  }
}

function finishEvent(run: RunConversation, call: AiSdkCall, prices: ModelPrices): AgentEvent {
  // Still asking for tools after the last allowed step: the results are published, the answer is cut.
  const outOfSteps = goesOn(run);
  const { finishReason: last, rawFinishReason, text } = run.last;
  return doneEvent(
    {
      finishReason: outOfSteps || last === "length" ? "length" : "stop",
      stopReason: outOfSteps ? "max_steps" : (rawFinishReason ?? last),
      usage: run.usage,
      model: call.modelName,
      steps: run.turns,
      text,
    },
    prices,
  );
}
