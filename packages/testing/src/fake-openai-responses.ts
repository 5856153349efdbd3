import type { FakeReply } from "./fake-llm-server.js";

/**
 * Frames of an OpenAI `POST /v1/responses` stream (`stream: true`), as the API sends them: named
 * events (`event: <type>` + `data: <json>` with a `sequence_number`), response.created, output items
 * (reasoning with summary parts, messages with text deltas, function calls with argument deltas),
 * each added then done, and response.completed with the usage.
 */
export class OpenAiResponsesStream {
  private readonly out: string[] = [];
  private sequence = 0;
  private outputIndex = 0;
  constructor(
    private readonly id = "resp_fake0001",
    private readonly model = "o4-mini",
  ) {}

  created(): this {
    return this.event("response.created", {
      response: {
        id: this.id,
        object: "response",
        created_at: 1_763_800_000,
        model: this.model,
        status: "in_progress",
      },
    });
  }

  /** A reasoning item whose summary streams as one part of `pieces`. */
  reasoning(itemId: string, ...pieces: string[]): this {
    const output_index = this.outputIndex++;
    this.event("response.output_item.added", {
      output_index,
      item: { type: "reasoning", id: itemId, summary: [] },
    });
    this.event("response.reasoning_summary_part.added", {
      item_id: itemId,
      output_index,
      summary_index: 0,
      part: { type: "summary_text", text: "" },
    });
    for (const delta of pieces) {
      this.event("response.reasoning_summary_text.delta", {
        item_id: itemId,
        output_index,
        summary_index: 0,
        delta,
      });
    }
    const text = pieces.join("");
    this.event("response.reasoning_summary_text.done", {
      item_id: itemId,
      output_index,
      summary_index: 0,
      text,
    });
    this.event("response.reasoning_summary_part.done", {
      item_id: itemId,
      output_index,
      summary_index: 0,
      part: { type: "summary_text", text },
    });
    return this.event("response.output_item.done", {
      output_index,
      item: { type: "reasoning", id: itemId, summary: [{ type: "summary_text", text }] },
    });
  }

  /** An assistant message whose text streams as `pieces`. */
  message(itemId: string, ...pieces: string[]): this {
    const output_index = this.outputIndex++;
    this.event("response.output_item.added", {
      output_index,
      item: { type: "message", id: itemId, status: "in_progress", role: "assistant", content: [] },
    });
    for (const delta of pieces) {
      this.event("response.output_text.delta", {
        item_id: itemId,
        output_index,
        content_index: 0,
        delta,
        logprobs: [],
      });
    }
    const text = pieces.join("");
    return this.event("response.output_item.done", {
      output_index,
      item: {
        type: "message",
        id: itemId,
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text, annotations: [] }],
      },
    });
  }

  /** A function call whose arguments stream as `fragments`. */
  functionCall(itemId: string, callId: string, name: string, ...fragments: string[]): this {
    const output_index = this.outputIndex++;
    // The same item opens (no arguments yet) and closes (all of them), as OpenAI sends it.
    const item = (args: string, status: string) => ({
      type: "function_call",
      id: itemId,
      call_id: callId,
      name,
      arguments: args,
      status,
    });
    this.event("response.output_item.added", { output_index, item: item("", "in_progress") });
    for (const delta of fragments) {
      this.event("response.function_call_arguments.delta", { item_id: itemId, output_index, delta });
    }
    const args = fragments.join("");
    this.event("response.function_call_arguments.done", { item_id: itemId, output_index, arguments: args });
    return this.event("response.output_item.done", { output_index, item: item(args, "completed") });
  }

  completed(inputTokens: number, outputTokens: number, reasoningTokens = 0): this {
    return this.event("response.completed", {
      response: {
        id: this.id,
        object: "response",
        created_at: 1_763_800_000,
        model: this.model,
        status: "completed",
        incomplete_details: null,
        usage: {
          input_tokens: inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: outputTokens,
          output_tokens_details: { reasoning_tokens: reasoningTokens },
          total_tokens: inputTokens + outputTokens,
        },
      },
    });
  }

  frames(): string[] {
    return [...this.out];
  }

  reply(): FakeReply {
    return { kind: "sse", frames: this.frames() };
  }

  private event(type: string, data: Record<string, unknown>): this {
    this.sequence += 1;
    this.out.push(
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence, ...data })}\n\n`,
    );
    return this;
  }
}
