import { z } from "zod";

/** Input of the `anthropic` and `openai` agents (validated at the API and again in the worker). */
export const LlmInput = z.strictObject({
  prompt: z.string().min(1).max(200_000),
  system: z.string().max(100_000).optional(),
  /** Overrides ANTHROPIC_MODEL / OPENAI_MODEL for this run. */
  model: z.string().min(1).max(200).optional(),
  /** Model turns (each may call tools); defaults to AGENT_MAX_STEPS. */
  maxSteps: z.number().int().min(1).max(100).optional(),
  /** Output tokens per turn. */
  maxTokens: z.number().int().min(1).max(200_000).optional(),
});
export type LlmInput = z.infer<typeof LlmInput>;
