import type { ToolRegistry } from "../tools/tool-registry.js";

/** USD per million tokens, per model name (parsed from `MODEL_PRICES` by packages/config). */
export type ModelPrices = Record<string, { input: number; output: number }>;

export interface LlmEndpoint {
  apiKey?: string;
  model: string;
  /** Anthropic: `https://api.anthropic.com`; OpenAI-compatible: `…/v1` (Ollama, vLLM, llama.cpp). */
  baseUrl?: string;
  /** OpenAI only: `responses` (default without baseUrl) or `chat` completions (default with one). */
  api?: "responses" | "chat";
}

/**
 * What the LLM agents need; structurally the worker config's `providers` (packages/config), so the
 * worker passes `config.providers` as is and this package does not depend on the env parser.
 */
export interface LlmConfig {
  anthropic: LlmEndpoint;
  openai: LlmEndpoint;
  /** Model turns per run when the input does not say. */
  maxSteps: number;
  prices: ModelPrices;
}

export interface LlmAgentDeps {
  /** The tools the model may call (the same registry the demo agent uses). */
  tools: ToolRegistry;
}
