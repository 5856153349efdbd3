import { type LanguageModel, type ModelMessage, stepCountIs, streamText } from "ai";
import type { z } from "zod";
import type { ModelPrices } from "../providers/llm-config.js";
import { type ErrorSource, toAgentError } from "../providers/provider-errors.js";
import type { ToolRegistry } from "../tools/tool-registry.js";
import type { Agent, AgentContext, AgentEvent } from "../types.js";
import { toAiSdkTools } from "./ai-sdk-tools.js";
import { mapFullStream } from "./map-full-stream.js";

/** Per-provider options (`{ anthropic: { thinking } }`, `{ openai: { reasoningSummary } }`). */
export type ProviderOptions = NonNullable<Parameters<typeof streamText>[0]["providerOptions"]>;

/** One run's call to `streamText`, built from the validated input. */
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
 * `@ai-sdk/openai-compatible`, …) driven by `streamText` with the registry's tools in a multi-step
 * loop, its full stream mapped onto Threadline events by `mapFullStream`.
 */
export function createAiSdkAgent<I>(spec: AiSdkAgentSpec<I>): Agent<I> {
  const tools = spec.tools ? toAiSdkTools(spec.tools) : undefined;
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
  tools: ReturnType<typeof toAiSdkTools> | undefined,
  input: I,
  ctx: AgentContext,
): AsyncGenerator<AgentEvent> {
  const call = spec.call(input, ctx);
  // Our own controller as well as the run's: leaving early (an error part thrown) must close the
  // provider's HTTP stream too, not leave it running until the socket times out.
  const local = new AbortController();
  const result = streamText({
    model: call.model,
    ...(call.system ? { system: call.system } : {}),
    messages: call.messages,
    ...(tools && Object.keys(tools).length > 0 ? { tools } : {}),
    stopWhen: stepCountIs(call.maxSteps),
    ...(call.maxOutputTokens ? { maxOutputTokens: call.maxOutputTokens } : {}),
    ...(call.providerOptions ? { providerOptions: call.providerOptions } : {}),
    // BullMQ is the one retry mechanism: SDK retries would multiply attempts and hide the waits.
    maxRetries: 0,
    abortSignal: AbortSignal.any([ctx.signal, local.signal]),
    // Errors arrive as `error` parts and become AgentErrors; the default would print them to stderr.
    onError: () => {},
  });
  try {
    yield* mapFullStream(result.fullStream, {
      model: call.modelName,
      maxSteps: call.maxSteps,
      attempt: ctx.attempt,
      prices: spec.prices ?? {},
      errors: spec.errors,
    });
  } catch (error) {
    // A broken body can also fail the stream itself rather than arrive as an `error` part.
    if (ctx.signal.aborted) return;
    throw toAgentError(error, spec.errors);
  } finally {
    local.abort();
  }
}
