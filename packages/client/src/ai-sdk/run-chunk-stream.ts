import { createUiChunkMapper, type UiChunk } from "@threadline/protocol";
import type { UIMessageChunk } from "ai";
import type { ThreadlineClient } from "../threadline-client.js";

// Compile-time proof that every chunk Threadline sends is one the AI SDK accepts.
type Assignable<T extends UIMessageChunk> = T;
export type UiChunkIsUIMessageChunk = Assignable<UiChunk>;

export interface RunChunkStreamOptions {
  client: ThreadlineClient;
  threadId: string;
  runId: string;
  /** `useChat`'s stop(): ends the stream and cancels the run. */
  signal: AbortSignal | undefined;
  /** Cancel the run when `signal` aborts (default true). */
  cancelOnAbort: boolean;
}

/**
 * One run as a stream of AI SDK UI message chunks, from its first event: the thread's events from
 * the start of the log (filtered to the run) through the client's resumable event stream — which
 * reconnects with Last-Event-ID on any drop — mapped by the protocol's `createUiChunkMapper`. Closes
 * after the run's `done`.
 */
export function runChunkStream(options: RunChunkStreamOptions): ReadableStream<UIMessageChunk> {
  const { client, threadId, runId } = options;
  const local = new AbortController();
  const mapper = createUiChunkMapper(runId);
  const events = client.thread(threadId).events({ from: "start", signal: local.signal });
  const onAbort = () => {
    local.abort();
    if (options.cancelOnAbort && !mapper.finished) {
      // Best effort: the run may have just ended; the cancel is idempotent on the API side.
      client.runs.cancel(threadId, runId).catch(() => {});
    }
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return new ReadableStream<UIMessageChunk>({
    async pull(controller) {
      while (!mapper.finished) {
        const next = await events.next().catch((error: unknown) => ({ error }));
        if ("error" in next) {
          cleanup();
          controller.error(next.error);
          return;
        }
        if (next.done) break;
        if (next.value.kind !== "event") continue;
        const chunks = mapper.push(next.value.event);
        for (const chunk of chunks) controller.enqueue(chunk);
        if (chunks.length > 0 && !mapper.finished) return;
      }
      cleanup();
      controller.close();
    },
    cancel() {
      cleanup();
    },
  });

  function cleanup() {
    options.signal?.removeEventListener("abort", onAbort);
    local.abort();
    void events.return(undefined);
  }
}
