import { type FakeLlmServer, type FakeReply, startFakeLlmServer } from "./fake-llm-server.js";

/**
 * Frames of an Anthropic `POST /v1/messages` stream (`stream: true`), byte for byte as the API sends
 * them: named SSE events (`event: <type>` + `data: <json>`), message_start, content blocks
 * (start, deltas, stop), ping, message_delta with stop_reason and usage, message_stop.
 */
export class AnthropicStream {
  private readonly out: string[] = [];
  constructor(
    private readonly id = "msg_01FakeFakeFakeFakeFake0001",
    private readonly model = "claude-sonnet-4-6",
  ) {}

  messageStart(inputTokens: number): this {
    return this.event("message_start", {
      type: "message_start",
      message: {
        id: this.id,
        type: "message",
        role: "assistant",
        content: [],
        model: this.model,
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: inputTokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 1,
          service_tier: "standard",
        },
      },
    });
  }

  ping(): this {
    return this.event("ping", { type: "ping" });
  }

  /** A text block: start (empty text), one `text_delta` per piece, stop. */
  textBlock(index: number, ...pieces: string[]): this {
    this.event("content_block_start", {
      type: "content_block_start",
      index,
      content_block: { type: "text", text: "" },
    });
    this.textDeltas(index, ...pieces);
    return this.blockStop(index);
  }

  textDeltas(index: number, ...pieces: string[]): this {
    for (const text of pieces) {
      this.event("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "text_delta", text },
      });
    }
    return this;
  }

  /**
   * An extended-thinking block: start (empty thinking), one `thinking_delta` per piece, then the
   * `signature_delta` the API always sends before the stop.
   */
  thinkingBlock(index: number, ...pieces: string[]): this {
    this.event("content_block_start", {
      type: "content_block_start",
      index,
      content_block: { type: "thinking", thinking: "", signature: "" },
    });
    for (const thinking of pieces) {
      this.event("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "thinking_delta", thinking },
      });
    }
    this.event("content_block_delta", {
      type: "content_block_delta",
      index,
      delta: { type: "signature_delta", signature: "EqQBCkYIARgCKkBfakeSignature==" },
    });
    return this.blockStop(index);
  }

  /** A tool_use block: start (empty input), `input_json_delta` fragments (the first one empty, as the API does), stop. */
  toolUseBlock(index: number, id: string, name: string, ...fragments: string[]): this {
    this.event("content_block_start", {
      type: "content_block_start",
      index,
      content_block: { type: "tool_use", id, name, input: {} },
    });
    for (const partial_json of ["", ...fragments]) {
      this.event("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json },
      });
    }
    return this.blockStop(index);
  }

  blockStop(index: number): this {
    return this.event("content_block_stop", { type: "content_block_stop", index });
  }

  /** `output_tokens` is the message's cumulative count. */
  messageDelta(
    stopReason: "end_turn" | "max_tokens" | "tool_use" | "stop_sequence",
    outputTokens: number,
  ): this {
    return this.event("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    });
  }

  messageStop(): this {
    return this.event("message_stop", { type: "message_stop" });
  }

  /** An error event in the stream, as the API sends when it fails after the 200 (e.g. `overloaded_error`). */
  error(type: string, message: string): this {
    return this.event("error", { type: "error", error: { type, message } });
  }

  frames(): string[] {
    return [...this.out];
  }

  private event(name: string, data: unknown): this {
    this.out.push(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    return this;
  }
}

/** A complete streamed text answer. */
export function anthropicTextReply(pieces: string[], options: { inputTokens?: number } = {}): FakeReply {
  const stream = new AnthropicStream()
    .messageStart(options.inputTokens ?? 10)
    .textBlock(0, ...pieces)
    .messageDelta("end_turn", pieces.length)
    .messageStop();
  return { kind: "sse", frames: stream.frames(), headers: { "request-id": "req_fake" } };
}

/** An Anthropic error response (`{"type":"error","error":{type,message},"request_id"}`). */
export function anthropicErrorReply(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): FakeReply {
  return {
    kind: "json",
    status,
    headers: { "request-id": "req_fake", ...headers },
    body: { type: "error", error: { type, message }, request_id: "req_fake" },
  };
}

/** A fake Anthropic API (point `ANTHROPIC_BASE_URL` at `url`); unscripted requests get a short text answer. */
export async function startFakeAnthropicServer(): Promise<FakeLlmServer> {
  const server = await startFakeLlmServer();
  server.setFallback(anthropicTextReply(["Hello", " from", " the", " fake", " model", "."]));
  return server;
}
