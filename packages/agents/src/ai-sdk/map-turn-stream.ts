import type { FinishReason, LanguageModelUsage, TextStreamPart, ToolSet } from "ai";
import { computeCost } from "../providers/cost.js";
import { doneEvent } from "../providers/done-event.js";
import type { ModelPrices } from "../providers/llm-config.js";
import { disconnected, type ErrorSource, toAgentError } from "../providers/provider-errors.js";
import type { AgentEvent } from "../types.js";
import { toolErrorMessage } from "./ai-sdk-tools.js";

export interface FullStreamOptions {
  /** The model name, for the `done` output and the price table. */
  model: string;
  /** The step limit given to `streamText`, published as each step's `total`. */
  maxSteps: number;
  /** The run's attempt, repeated on each step's status so a watcher never reads a stale one. */
  attempt: number;
  prices: ModelPrices;
  errors: ErrorSource;
}

/**
 * Maps an AI SDK `streamText` full stream onto Threadline events:
 * `start-step` → `status running {attempt, step, total}`; `text-delta` → `token`; `reasoning-delta` → `delta`
 * kind `reasoning`; `tool-input-start`/`-delta` → `tool_call` with `argsDelta`, `tool-call` → `tool_call`
 * with the full `args` (or its parse `error`); `tool-result`/`tool-error` → `tool_result`; `finish` →
 * `done` with usage, cost and finish reason; `finish-step` → a `progress` delta with the cumulative usage
 * (and cost, for a priced model) so far, which the worker checks the run's budget against. An `error` part is thrown as an `AgentError` (retryable
 * per our mapping); `abort` ends the stream with nothing more (the worker publishes `done cancelled`).
 */
export async function* mapFullStream(
  parts: AsyncIterable<TextStreamPart<ToolSet>>,
  options: FullStreamOptions,
): AsyncGenerator<AgentEvent> {
  const toolNames = new Map<string, string>();
  let step = 0;
  let stepText = "";
  const used = { inputTokens: 0, outputTokens: 0 };
  let last: { finishReason: FinishReason; raw: string | undefined } | undefined;
  for await (const part of parts) {
    switch (part.type) {
      case "start-step":
        step += 1;
        stepText = "";
        yield {
          type: "status",
          content: { state: "running", attempt: options.attempt, step, total: options.maxSteps },
        };
        break;
      case "text-delta":
        if (part.text) {
          stepText += part.text;
          yield { type: "token", content: part.text };
        }
        break;
      case "reasoning-delta":
        // Anthropic sends the block's signature as an empty delta: nothing to show.
        if (part.text) yield { type: "delta", content: { kind: "reasoning", id: part.id, text: part.text } };
        break;
      case "tool-input-start":
        toolNames.set(part.id, part.toolName);
        yield { type: "delta", content: { kind: "tool_call", toolCallId: part.id, name: part.toolName } };
        break;
      case "tool-input-delta":
        if (part.delta) {
          const name = toolNames.get(part.id);
          yield {
            type: "delta",
            content: { kind: "tool_call", toolCallId: part.id, name, argsDelta: part.delta },
          };
        }
        break;
      case "tool-call": {
        const { toolCallId, toolName: name } = part;
        yield part.invalid
          ? {
              type: "delta",
              content: { kind: "tool_call", toolCallId, name, error: toolErrorMessage(part.error) },
            }
          : { type: "delta", content: { kind: "tool_call", toolCallId, name, args: part.input } };
        break;
      }
      case "tool-result":
        if (part.preliminary) break;
        yield {
          type: "delta",
          content: {
            kind: "tool_result",
            toolCallId: part.toolCallId,
            name: part.toolName,
            result: part.output,
          },
        };
        break;
      case "tool-error":
        yield {
          type: "delta",
          content: {
            kind: "tool_result",
            toolCallId: part.toolCallId,
            name: part.toolName,
            result: { error: toolErrorMessage(part.error) },
            isError: true,
          },
        };
        break;
      case "finish-step":
        last = { finishReason: part.finishReason, raw: part.rawFinishReason };
        // "other" with no raw reason: the provider's stream ended before it said why it stopped.
        if (part.finishReason === "other" && part.rawFinishReason === undefined) {
          throw disconnected(options.errors.provider, "the stream ended before the model finished");
        }
        used.inputTokens += part.usage.inputTokens ?? 0;
        used.outputTokens += part.usage.outputTokens ?? 0;
        yield progressEvent(step, used, options);
        break;
      case "finish":
        yield finishEvent(
          part.totalUsage,
          last ?? { finishReason: part.finishReason, raw: part.rawFinishReason },
          {
            ...options,
            steps: step,
            text: stepText,
          },
        );
        return;
      case "error":
        throw toAgentError(part.error, options.errors);
      case "abort":
        return;
    }
  }
}

function progressEvent(
  step: number,
  used: { inputTokens: number; outputTokens: number },
  options: FullStreamOptions,
): AgentEvent {
  const cost = computeCost(options.prices, options.model, used);
  return {
    type: "delta",
    content: { kind: "progress", step, usage: { ...used }, ...(cost ? { cost } : {}) },
  };
}

function finishEvent(
  usage: LanguageModelUsage,
  last: { finishReason: FinishReason; raw: string | undefined },
  summary: FullStreamOptions & { steps: number; text: string },
): AgentEvent {
  // Still asking for tools after the last allowed step: the results are published, the answer is cut.
  const outOfSteps = last.finishReason === "tool-calls";
  const finishReason = outOfSteps || last.finishReason === "length" ? "length" : "stop";
  const stopReason = outOfSteps ? "max_steps" : (last.raw ?? last.finishReason);
  return doneEvent(
    {
      finishReason,
      stopReason,
      usage: { inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 },
      model: summary.model,
      steps: summary.steps,
      text: summary.text,
    },
    summary.prices,
  );
}
