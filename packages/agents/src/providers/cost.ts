import type { ModelPrices } from "./llm-config.js";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** `{ usd }` for a model in the price table, else undefined (no guessed prices). */
export function computeCost(
  prices: ModelPrices,
  model: string,
  usage: TokenUsage,
): { usd: number } | undefined {
  const price = prices[model];
  if (!price) return undefined;
  const usd = (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
  // Rounded to a billionth of a dollar so float noise does not show up in events.
  return { usd: Math.round(usd * 1e9) / 1e9 };
}
