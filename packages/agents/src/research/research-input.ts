import { z } from "zod";

/** Input of the `research` agent. Unknown fields are refused so a typo is a 400, not a silent default. */
export const ResearchInput = z.strictObject({
  prompt: z.string().min(1).max(32_000),
  /** Speed of every agent's tokens; 0 streams as fast as possible. */
  tokensPerSecond: z.number().min(0).max(1_000_000).default(50),
});
export type ResearchInput = z.infer<typeof ResearchInput>;
