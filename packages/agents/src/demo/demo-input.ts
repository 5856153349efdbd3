import { z } from "zod";
import { ChatHistory } from "../ai-sdk/chat-history.js";

/** Input of the `demo` agent. Unknown fields are refused so a typo is a 400, not a silent default. */
export const DemoInput = z.strictObject({
  prompt: z.string().min(1).max(32_000),
  /** Earlier turns of a chat (a `useChat` transport sends them); the demo answers the prompt alone. */
  messages: ChatHistory.optional(),
  /** Answer speed; 0 streams as fast as possible (benchmarks). */
  tokensPerSecond: z.number().min(0).max(1_000_000).default(50),
  /** Length of the answer in tokens. */
  maxTokens: z.number().int().min(1).max(100_000).default(64),
});
export type DemoInput = z.infer<typeof DemoInput>;
