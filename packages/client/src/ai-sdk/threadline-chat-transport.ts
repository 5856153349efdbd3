import { isFinalState } from "@threadline/protocol";
import type { ChatTransport, UIMessage } from "ai";
import type { ThreadlineClient } from "../threadline-client.js";
import { runChunkStream } from "./run-chunk-stream.js";

export interface ThreadlineChatTransportOptions<M extends UIMessage = UIMessage> {
  client: ThreadlineClient;
  /** The agent runs use (default: the API's default agent). */
  agent?: string;
  /**
   * The run's input from the chat. Default: `{ prompt }` (the last user message's text) plus
   * `messages` (the earlier turns as `{role, content}` text) when there are any.
   */
  input?: (options: { messages: M[]; chatId: string }) => Record<string, unknown>;
  /** `stop()` also cancels the run (default true); false only stops reading it. */
  cancelOnStop?: boolean;
}

/**
 * A `useChat` transport on Threadline: `useChat({ id: threadId, transport, resume: true })`. Sending
 * creates a run on the thread (the chat goes into its input) and streams that run from the gateway as
 * UI message chunks, resuming with Last-Event-ID on any drop; after a reload `reconnectToStream`
 * replays the thread's run in progress from its start (`resumeStreamIsReplay`), so the partial answer
 * comes back whole and continues.
 */
export function createThreadlineChatTransport<M extends UIMessage = UIMessage>(
  options: ThreadlineChatTransportOptions<M>,
): ChatTransport<M> {
  const { client } = options;
  const cancelOnAbort = options.cancelOnStop ?? true;
  const toInput = options.input ?? defaultInput;
  return {
    resumeStreamIsReplay: true,
    async sendMessages({ chatId, messages, abortSignal }) {
      const run = await client.runs.create(chatId, {
        ...(options.agent ? { agent: options.agent } : {}),
        input: toInput({ messages, chatId }),
      });
      return runChunkStream({
        client,
        threadId: chatId,
        runId: run.runId,
        signal: abortSignal,
        cancelOnAbort,
      });
    },
    async reconnectToStream({ chatId, abortSignal }) {
      const [latest] = await client.runs.list(chatId, { limit: 1 });
      // Nothing in progress: `useChat` keeps the messages it has (204 in the HTTP transport's terms).
      if (!latest || isFinalState(latest.status)) return null;
      return runChunkStream({
        client,
        threadId: chatId,
        runId: latest.runId,
        signal: abortSignal,
        cancelOnAbort,
      });
    },
  };
}

/** `{ prompt, messages? }`: the last user message's text, and the earlier turns as text. */
export function defaultInput({ messages }: { messages: UIMessage[] }): Record<string, unknown> {
  const turns = messages
    .filter((m) => m.role === "user" || m.role === "assistant")
    .map((m) => ({ role: m.role, content: textOf(m) }));
  const last = turns.at(-1);
  if (last?.role !== "user") throw new Error("useChat sent no user message to answer");
  const earlier = turns.slice(0, -1).filter((m) => m.content !== "");
  return earlier.length > 0 ? { prompt: last.content, messages: earlier } : { prompt: last.content };
}

function textOf(message: UIMessage): string {
  return message.parts
    .filter((p): p is Extract<UIMessage["parts"][number], { type: "text" }> => p.type === "text")
    .map((p) => p.text)
    .join("");
}
