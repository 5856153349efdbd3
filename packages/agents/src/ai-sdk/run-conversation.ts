import {
  type AssistantModelMessage,
  assistantModelMessageSchema,
  type ToolCallPart,
  type ToolModelMessage,
  type ToolResultPart,
  toolModelMessageSchema,
} from "ai";
import { z } from "zod";

/**
 * What an LLM run has done so far, and what a checkpoint holds: a retried attempt rebuilds the model's
 * conversation from it (the input's messages, then `messages`) and resumes after the last completed step.
 */
export const RunConversation = z.object({
  /** Model turns completed. */
  turns: z.number().int().min(1),
  /** Usage summed over those turns. */
  usage: z.object({ inputTokens: z.number().int().min(0), outputTokens: z.number().int().min(0) }),
  /** How the latest turn ended, and its text (the answer when the run ends after it). */
  last: z.object({
    finishReason: z.enum(["stop", "length", "content-filter", "tool-calls", "error", "other"]),
    rawFinishReason: z.string().optional(),
    text: z.string(),
  }),
  /** What the run added to the conversation, in order: assistant turns (with their tool calls) and tool results. */
  messages: z.array(z.union([assistantModelMessageSchema, toolModelMessageSchema])),
});
export type RunConversation = z.infer<typeof RunConversation>;
type RunMessage = AssistantModelMessage | ToolModelMessage;

/** The conversation a checkpoint saved, or undefined when it holds none we can read (start over). */
export function restoreConversation(state: unknown): RunConversation | undefined {
  const parsed = RunConversation.safeParse(state);
  return parsed.success ? parsed.data : undefined;
}

/** The latest turn's tool calls we run (not the provider's own) that have no result yet, in call order. */
export function pendingToolCalls(messages: RunMessage[]): ToolCallPart[] {
  const turn = messages.findLastIndex((m) => m.role === "assistant");
  const assistant = messages[turn];
  if (assistant?.role !== "assistant" || typeof assistant.content === "string") return [];
  const answered = new Set<string>();
  for (const message of messages.slice(turn)) {
    if (typeof message.content === "string") continue;
    for (const part of message.content) if (part.type === "tool-result") answered.add(part.toolCallId);
  }
  return assistant.content.filter(
    (part): part is ToolCallPart =>
      part.type === "tool-call" && part.providerExecuted !== true && !answered.has(part.toolCallId),
  );
}

/** True when the latest turn asked for tools of ours (answered or not): the run goes on after them. */
export function calledTools(messages: RunMessage[]): boolean {
  const assistant = messages.findLast((m) => m.role === "assistant");
  if (assistant === undefined || typeof assistant.content === "string") return false;
  return assistant.content.some((part) => part.type === "tool-call" && part.providerExecuted !== true);
}

/**
 * `messages` with one more tool result, in the tool message after the latest turn (created when there
 * is none yet), its results kept in the order of the calls.
 */
export function withToolResult(messages: RunMessage[], result: ToolResultPart): RunMessage[] {
  const turn = messages.findLastIndex((m) => m.role === "assistant");
  const assistant = messages[turn];
  const order = new Map(
    (assistant?.role === "assistant" && typeof assistant.content !== "string" ? assistant.content : [])
      .flatMap((part) => (part.type === "tool-call" ? [part.toolCallId] : []))
      .map((id, i) => [id, i]),
  );
  const rank = (part: ToolModelMessage["content"][number]) =>
    (part.type === "tool-result" ? order.get(part.toolCallId) : undefined) ?? order.size;
  const last = messages.at(-1);
  const existing = last?.role === "tool" ? last.content : [];
  const content = [...existing, result].sort((a, b) => rank(a) - rank(b));
  const tool: ToolModelMessage = { role: "tool", content };
  return last?.role === "tool" ? [...messages.slice(0, -1), tool] : [...messages, tool];
}
