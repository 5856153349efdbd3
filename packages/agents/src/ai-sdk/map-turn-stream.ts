import type { FinishReason, TextStreamPart, ToolSet } from "ai";
import { computeCost, type TokenUsage } from "../providers/cost.js";
import type { ModelPrices } from "../providers/llm-config.js";
import { disconnected, type ErrorSource, toAgentError } from "../providers/provider-errors.js";
import type { AgentEvent } from "../types.js";
import { toolErrorMessage } from "./ai-sdk-tools.js";

/** A `tool_result` event: the tool's value, or the error message the model is told. */
export function toolResultEvent(
  toolCallId: string,
  name: string,
  outcome: { value: unknown } | { error: string },
): AgentEvent {
  return "error" in outcome
    ? {
        type: "delta",
        content: { kind: "tool_result", toolCallId, name, result: { error: outcome.error }, isError: true },
      }
    : { type: "delta", content: { kind: "tool_result", toolCallId, name, result: outcome.value } };
}

export interface TurnOptions {
  /** The model name, for the price table. */
  model: string;
  /** This turn's number (1-based, counted over the whole run, resumed attempts included). */
  step: number;
  /** The step limit, published as each step's `total`. */
  maxSteps: number;
  /** The run's attempt, repeated on each step's status so a watcher never reads a stale one. */
  attempt: number;
  /** Usage of the run's earlier turns: `progress` reports the cumulative total. */
  usedBefore: TokenUsage;
  prices: ModelPrices;
  errors: ErrorSource;
}

/** How a model turn ended. */
export interface TurnEnd {
  finishReason: FinishReason;
  /** What the provider said (`end_turn`, `tool_calls`, …), when it said. */
  rawFinishReason?: string;
  /** This turn's usage. */
  usage: TokenUsage;
  /** This turn's text: the answer when the run ends after it. */
  text: string;
}

/**
 * Maps the full stream of ONE model turn (a `streamText` call that stops at its tool calls) onto
 * Threadline events: `start-step` → `status running {attempt, step, total}`; `text-delta` → `token`;
 * `reasoning-delta` → `delta` kind `reasoning`; `tool-input-start`/`-delta` → `tool_call` with
 * `argsDelta`, `tool-call` → `tool_call` with the full `args` (or its parse `error`); `tool-result`
 * (provider-executed) / `tool-error` (a call the SDK could not parse) → `tool_result`; `finish-step` →
 * a `progress` delta with the run's cumulative usage (and cost, for a priced model), which the worker
 * checks the run's budget against. Returns how the turn ended, or undefined when it was aborted. An
 * `error` part is thrown as an `AgentError` (retryable per our mapping).
 */
export async function* mapTurnStream(
  parts: AsyncIterable<TextStreamPart<ToolSet>>,
  options: TurnOptions,
): AsyncGenerator<AgentEvent, TurnEnd | undefined> {
  const toolNames = new Map<string, string>();
  let text = "";
  let end: TurnEnd | undefined;
  for await (const part of parts) {
    switch (part.type) {
      case "start-step":
        yield {
          type: "status",
          content: {
            state: "running",
            attempt: options.attempt,
            step: options.step,
            total: options.maxSteps,
          },
        };
        break;
      case "text-delta":
        if (part.text) {
          text += part.text;
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
        yield toolResultEvent(part.toolCallId, part.toolName, { value: part.output });
        break;
      case "tool-error":
        yield toolResultEvent(part.toolCallId, part.toolName, { error: toolErrorMessage(part.error) });
        break;
      case "finish-step": {
        // "other" with no raw reason: the provider's stream ended before it said why it stopped.
        if (part.finishReason === "other" && part.rawFinishReason === undefined) {
          throw disconnected(options.errors.provider, "the stream ended before the model finished");
        }
        const usage = {
          inputTokens: part.usage.inputTokens ?? 0,
          outputTokens: part.usage.outputTokens ?? 0,
        };
        end = {
          finishReason: part.finishReason,
          ...(part.rawFinishReason === undefined ? {} : { rawFinishReason: part.rawFinishReason }),
          usage,
          text,
        };
        yield progressEvent(addUsage(options.usedBefore, usage), options);
        break;
      }
      case "finish":
        return end;
      case "error":
        throw toAgentError(part.error, options.errors);
      case "abort":
        return undefined;
    }
  }
  return end;
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}

function progressEvent(used: TokenUsage, options: TurnOptions): AgentEvent {
  const cost = computeCost(options.prices, options.model, used);
  return {
    type: "delta",
    content: { kind: "progress", step: options.step, usage: { ...used }, ...(cost ? { cost } : {}) },
  };
}
