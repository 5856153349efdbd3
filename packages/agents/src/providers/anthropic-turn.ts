import type Anthropic from "@anthropic-ai/sdk";
import type { AgentEvent } from "../types.js";
import type { TokenUsage } from "./cost.js";
import { disconnected } from "./provider-errors.js";
import { parseToolArgs, type ToolCall, toolCallEvent } from "./tool-calls.js";

/** One model turn, reassembled from the stream: what to send back next turn and what to run. */
export interface AnthropicTurn {
  /** The assistant message's content blocks, echoed back in the next request. */
  content: Anthropic.ContentBlockParam[];
  text: string;
  toolCalls: ToolCall[];
  stopReason: string | null;
  usage: TokenUsage;
}

type Block = { kind: "text"; text: string } | { kind: "tool"; id: string; name: string; json: string };

/**
 * Maps one Messages stream to Threadline events: `text_delta` → `token`; a `tool_use` block → its
 * `input_json_delta` fragments as `tool_call` deltas with `argsDelta`, then one with the parsed `args`
 * at `content_block_stop`. Returns undefined once `signal` aborts (nothing more is yielded); throws a
 * retryable error when the stream ends before `message_stop`.
 */
export async function* streamAnthropicTurn(
  stream: AsyncIterable<Anthropic.RawMessageStreamEvent>,
  signal: AbortSignal,
): AsyncGenerator<AgentEvent, AnthropicTurn | undefined> {
  const blocks = new Map<number, Block>();
  const turn: AnthropicTurn = { content: [], text: "", toolCalls: [], stopReason: null, usage: zero() };
  let complete = false;
  for await (const event of stream) {
    if (signal.aborted) return undefined;
    switch (event.type) {
      case "message_start":
        turn.usage.inputTokens = inputTokens(event.message.usage);
        turn.usage.outputTokens = event.message.usage.output_tokens ?? 0;
        break;
      case "content_block_start": {
        const block = event.content_block;
        if (block.type === "text") blocks.set(event.index, { kind: "text", text: block.text });
        else if (block.type === "tool_use")
          blocks.set(event.index, { kind: "tool", id: block.id, name: block.name, json: "" });
        if (block.type === "text" && block.text) yield token(block.text, turn);
        break;
      }
      case "content_block_delta": {
        const block = blocks.get(event.index);
        if (event.delta.type === "text_delta" && block?.kind === "text") {
          block.text += event.delta.text;
          yield token(event.delta.text, turn);
        } else if (
          event.delta.type === "input_json_delta" &&
          block?.kind === "tool" &&
          event.delta.partial_json
        ) {
          block.json += event.delta.partial_json;
          const { id: toolCallId, name } = block;
          yield {
            type: "delta",
            content: { kind: "tool_call", toolCallId, name, argsDelta: event.delta.partial_json },
          };
        }
        break;
      }
      case "content_block_stop": {
        const block = blocks.get(event.index);
        if (block?.kind === "text") turn.content.push({ type: "text", text: block.text });
        if (block?.kind === "tool") {
          const call = parseToolArgs(block.id, block.name, block.json);
          turn.toolCalls.push(call);
          const input = call.argsError ? {} : (call.args as Record<string, unknown>);
          turn.content.push({ type: "tool_use", id: block.id, name: block.name, input });
          yield toolCallEvent(call);
        }
        break;
      }
      case "message_delta":
        turn.stopReason = event.delta.stop_reason;
        // `output_tokens` here is the turn's cumulative total, not an increment.
        turn.usage.outputTokens = event.usage.output_tokens;
        if (event.usage.input_tokens != null) turn.usage.inputTokens = inputTokens(event.usage);
        break;
      case "message_stop":
        complete = true;
        break;
    }
  }
  if (signal.aborted) return undefined;
  if (!complete) throw disconnected("Anthropic", "no message_stop event");
  return turn;
}

function token(text: string, turn: AnthropicTurn): AgentEvent {
  turn.text += text;
  return { type: "token", content: text };
}

function zero(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0 };
}

/** Cache reads and writes are input too; they are billed at other rates, which the price table ignores. */
function inputTokens(usage: {
  input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}): number {
  return (
    (usage.input_tokens ?? 0) +
    (usage.cache_creation_input_tokens ?? 0) +
    (usage.cache_read_input_tokens ?? 0)
  );
}
