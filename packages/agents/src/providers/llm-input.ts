import { z } from "zod";
import { ChatHistory } from "../ai-sdk/chat-history.js";

/** Input of the `anthropic` and `openai` agents (validated at the API and again in the worker). */
export const LlmInput = z.strictObject({
  prompt: z.string().min(1).max(200_000),
  /** Earlier turns of the conversation (a `useChat` transport sends them); the prompt comes after. */
  messages: ChatHistory.optional(),
  system: z.string().max(100_000).optional(),
  /** Overrides ANTHROPIC_MODEL / OPENAI_MODEL for this run. */
  model: z.string().min(1).max(200).optional(),
  /** Model turns (each may call tools); defaults to AGENT_MAX_STEPS. */
  maxSteps: z.number().int().min(1).max(100).optional(),
  /** Output tokens per turn. */
  maxTokens: z.number().int().min(1).max(200_000).optional(),
  /**
   * Ask for the model's reasoning, streamed as `reasoning` deltas: Anthropic extended thinking with
   * `budgetTokens` (default 2048); OpenAI reasoning models send reasoning summaries (budget unused).
   */
  reasoning: z.strictObject({ budgetTokens: z.number().int().min(1024).max(128_000).optional() }).optional(),
});
export type LlmInput = z.infer<typeof LlmInput>;

/** Extended thinking's budget when `reasoning` does not give one. */
export const DEFAULT_REASONING_BUDGET = 2048;
