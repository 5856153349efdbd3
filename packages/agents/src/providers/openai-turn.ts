import type OpenAI from "openai";
import type { AgentEvent } from "../types.js";
import type { TokenUsage } from "./cost.js";
import { disconnected } from "./provider-errors.js";
import { parseToolArgs, type ToolCall, toolCallEvent } from "./tool-calls.js";

/** One model turn, reassembled from the chunks: what to send back next turn and what to run. */
export interface OpenAiTurn {
  text: string;
  toolCalls: ToolCall[];
  finishReason: string;
  /** Undefined when the server sent no usage chunk (some OpenAI-compatible servers do not). */
  usage?: TokenUsage;
}

interface PendingCall {
  id: string;
  name: string;
  json: string;
}

/**
 * Maps one chat.completions stream to Threadline events: `delta.content` → `token`;
 * `delta.tool_calls[i].function.arguments` fragments → `tool_call` deltas with `argsDelta`, then one
 * per call with the parsed `args` once `finish_reason` arrives. Returns undefined once `signal`
 * aborts (nothing more is yielded); throws a retryable error when the stream ends without a
 * `finish_reason`.
 */
export async function* streamOpenAiTurn(
  stream: AsyncIterable<OpenAI.ChatCompletionChunk>,
  signal: AbortSignal,
): AsyncGenerator<AgentEvent, OpenAiTurn | undefined> {
  const calls = new Map<number, PendingCall>();
  let text = "";
  let finishReason: string | undefined;
  let usage: TokenUsage | undefined;
  for await (const chunk of stream) {
    if (signal.aborted) return undefined;
    if (chunk.usage) {
      usage = {
        inputTokens: chunk.usage.prompt_tokens ?? 0,
        outputTokens: chunk.usage.completion_tokens ?? 0,
      };
    }
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const { content, tool_calls: toolCalls } = choice.delta ?? {};
    if (content) {
      text += content;
      yield { type: "token", content };
    }
    for (const piece of toolCalls ?? []) {
      const index = piece.index ?? calls.size;
      let call = calls.get(index);
      if (!call) {
        // Some OpenAI-compatible servers omit ids: make one the next request can refer to.
        call = { id: piece.id || `call_${index}`, name: piece.function?.name ?? "", json: "" };
        calls.set(index, call);
      } else if (piece.function?.name && !call.name) {
        call.name = piece.function.name;
      }
      const fragment = piece.function?.arguments;
      if (fragment) {
        call.json += fragment;
        yield {
          type: "delta",
          content: { kind: "tool_call", toolCallId: call.id, name: call.name, argsDelta: fragment },
        };
      }
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  if (signal.aborted) return undefined;
  if (!finishReason) throw disconnected("OpenAI-compatible endpoint", "no finish_reason");
  const complete = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, c]) => parseToolArgs(c.id, c.name, c.json));
  for (const call of complete) yield toolCallEvent(call);
  return { text, toolCalls: complete, finishReason, ...(usage ? { usage } : {}) };
}
