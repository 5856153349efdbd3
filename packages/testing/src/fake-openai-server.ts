import { type FakeLlmServer, type FakeReply, startFakeLlmServer } from "./fake-llm-server.js";

/**
 * Frames of an OpenAI `POST /v1/chat/completions` stream (`stream: true`,
 * `stream_options: {include_usage: true}`), byte for byte as the API sends them: every
 * `chat.completion.chunk` on its own `data:` line with `"usage":null`, a last chunk with
 * `"choices":[]` and the usage, then `data: [DONE]`.
 */
export class OpenAiStream {
  private readonly out: string[] = [];
  constructor(
    private readonly id = "chatcmpl-fake0001",
    private readonly model = "gpt-4.1-mini",
    private readonly created = 1_763_800_000,
  ) {}

  /** The first chunk: the assistant role with empty content. */
  role(): this {
    return this.choice({ role: "assistant", content: "", refusal: null });
  }

  text(...pieces: string[]): this {
    for (const content of pieces) this.choice({ content });
    return this;
  }

  /** Reasoning pieces as local servers (vLLM, llama.cpp, DeepSeek) stream them: `delta.reasoning_content`. */
  reasoning(...pieces: string[]): this {
    for (const reasoning_content of pieces) this.choice({ reasoning_content });
    return this;
  }

  /** Opens tool call `index` (id, name, empty arguments), as the API's first tool-call chunk does. */
  toolCall(index: number, id: string, name: string): this {
    return this.choice({
      tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }],
    });
  }

  /** Argument fragments of tool call `index`, one chunk each. */
  toolArgs(index: number, ...fragments: string[]): this {
    for (const args of fragments) this.choice({ tool_calls: [{ index, function: { arguments: args } }] });
    return this;
  }

  finish(reason: "stop" | "length" | "tool_calls" | "content_filter"): this {
    return this.choice({}, reason);
  }

  usage(promptTokens: number, completionTokens: number): this {
    return this.data({
      ...this.base(),
      choices: [],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
    });
  }

  /** An error object in the stream, as the API sends when it fails after the 200. */
  error(message: string, type = "server_error"): this {
    return this.data({ error: { message, type, param: null, code: null } });
  }

  done(): this {
    this.out.push("data: [DONE]\n\n");
    return this;
  }

  frames(): string[] {
    return [...this.out];
  }

  private choice(delta: Record<string, unknown>, finishReason: string | null = null): this {
    return this.data({
      ...this.base(),
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      usage: null,
    });
  }

  private base() {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      service_tier: "default",
      system_fingerprint: "fp_fake",
    };
  }

  private data(payload: unknown): this {
    this.out.push(`data: ${JSON.stringify(payload)}\n\n`);
    return this;
  }
}

/** A complete streamed text answer: role, one chunk per piece, `stop`, usage, `[DONE]`. */
export function openAiTextReply(
  pieces: string[],
  options: { promptTokens?: number; frameDelayMs?: number; model?: string } = {},
): FakeReply {
  const stream = new OpenAiStream(undefined, options.model)
    .role()
    .text(...pieces)
    .finish("stop")
    .usage(options.promptTokens ?? 10, pieces.length)
    .done();
  return {
    kind: "sse",
    frames: stream.frames(),
    ...(options.frameDelayMs ? { frameDelayMs: options.frameDelayMs } : {}),
  };
}

/** An OpenAI error response (`{"error":{message,type,param,code}}`) with a status and headers. */
export function openAiErrorReply(
  status: number,
  message: string,
  options: { type?: string; code?: string | null; headers?: Record<string, string> } = {},
): FakeReply {
  return {
    kind: "json",
    status,
    headers: { "x-request-id": "req_fake", ...options.headers },
    body: {
      error: {
        message,
        type: options.type ?? "invalid_request_error",
        param: null,
        code: options.code ?? null,
      },
    },
  };
}

/**
 * A fake OpenAI-compatible server (point `OPENAI_BASE_URL` at `<url>/v1`). Script replies with
 * `enqueue`; by default every request gets a short streamed text answer, so end-to-end runs work
 * without scripting.
 */
export async function startFakeOpenAiServer(): Promise<FakeLlmServer & { baseUrl: string }> {
  const server = await startFakeLlmServer();
  server.setFallback(openAiTextReply(["Hello", " from", " the", " fake", " model", "."]));
  return Object.assign(server, { baseUrl: `${server.url}/v1` });
}
