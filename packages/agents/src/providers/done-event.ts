import type { AgentEvent } from "../types.js";
import { computeCost, type TokenUsage } from "./cost.js";
import type { ModelPrices } from "./llm-config.js";

export interface RunSummary {
  finishReason: "stop" | "length";
  /** What the provider said, e.g. `end_turn`, `max_tokens`, `content_filter`, or `max_steps` (ours). */
  stopReason: string;
  usage: TokenUsage;
  model: string;
  steps: number;
  /** The last turn's text: the answer. */
  text: string;
}

/** The run's `done` event: usage summed over every turn, and cost when the model has a price. */
export function doneEvent(summary: RunSummary, prices: ModelPrices): AgentEvent {
  const { finishReason, stopReason, usage, model, steps, text } = summary;
  const cost = computeCost(prices, model, usage);
  return {
    type: "done",
    content: {
      finishReason,
      stopReason,
      usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
      ...(cost ? { cost } : {}),
      output: { text, model, steps },
    },
  };
}
