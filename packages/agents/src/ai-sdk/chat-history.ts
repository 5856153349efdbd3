import type { ModelMessage } from "ai";
import { z } from "zod";

/** Earlier turns of a chat (oldest first), text only: what a `useChat` transport sends beside `prompt`. */
export const ChatHistory = z
  .array(
    z.strictObject({
      role: z.enum(["user", "assistant"]),
      content: z.string().max(200_000),
    }),
  )
  .max(500);
export type ChatHistory = z.infer<typeof ChatHistory>;

/** The model's messages: the earlier turns, then the prompt as the newest user message. */
export function toModelMessages(prompt: string, history: ChatHistory = []): ModelMessage[] {
  return [...history.map((m) => ({ role: m.role, content: m.content })), { role: "user", content: prompt }];
}
