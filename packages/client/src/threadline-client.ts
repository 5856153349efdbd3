import {
  CancelledRun,
  CreatedRun,
  HistoryPage,
  type OnDisconnect,
  RunList,
  RunView,
  ThreadList,
  ThreadMessages,
} from "@threadline/protocol";
import { openEventStream, openRawEventStream } from "./event-stream.js";
import { createHttpClient } from "./http-client.js";
import { parseResponse } from "./parse-response.js";
import { createSharedThreadStream, type ShareAcrossTabsOptions } from "./shared-thread-stream.js";
import type { EventStreamOptions, RawSseMessage, StreamItem, ThreadlineClientOptions } from "./types.js";
import { type WatchChange, type WatchItem, type WatchOptions, watchThreads } from "./watch.js";

export interface CreateRunOptions {
  agent?: string;
  input: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  /** Cancel the run when nobody has watched the thread for this long. */
  onDisconnect?: OnDisconnect;
}

export interface ThreadEventsOptions extends EventStreamOptions {
  /** Share one gateway connection between the tabs of this origin that watch this thread (browser). */
  shareAcrossTabs?: boolean | ShareAcrossTabsOptions;
}

export interface ThreadHandle {
  readonly threadId: string;
  /** One page of the replay log (API); `after` defaults to the start of what is retained. */
  history(options?: { after?: string; limit?: number }): Promise<HistoryPage>;
  /** The thread as a conversation: each run's input and final answer (API; from the archive after Redis forgets). */
  messages(): Promise<ThreadMessages>;
  /** The thread's live events (gateway SSE) as an async iterator that reconnects and resumes by itself. */
  events(options?: ThreadEventsOptions): AsyncGenerator<StreamItem, void, undefined>;
  /**
   * Raw mode of `events()`: the same resumable stream, yielding the gateway's SSE messages as sent (event
   * name, id, unparsed data), for tools that print or forward them. Never shared across tabs.
   */
  rawEvents(options?: EventStreamOptions): AsyncGenerator<RawSseMessage, void, undefined>;
}

export interface ThreadlineClient {
  readonly options: Readonly<ThreadlineClientOptions>;
  runs: {
    create(threadId: string, request: CreateRunOptions): Promise<CreatedRun>;
    get(threadId: string, runId: string): Promise<RunView>;
    cancel(threadId: string, runId: string): Promise<CancelledRun>;
    /** The thread's runs, newest first. */
    list(threadId: string, options?: { limit?: number }): Promise<RunView[]>;
  };
  threads: {
    /** The caller's threads, most recently active first; pass `nextCursor` back as `cursor` (needs the archive). */
    list(options?: { limit?: number; cursor?: string }): Promise<ThreadList>;
  };
  thread(threadId: string): ThreadHandle;
  /**
   * Many threads over ONE gateway WebSocket (`/v1/ws`), reconnecting and resuming every thread by itself:
   * a list, or an async iterable of `{ add, remove }` changes to follow.
   */
  watch(
    threads: readonly string[] | AsyncIterable<WatchChange>,
    options?: WatchOptions,
  ): AsyncGenerator<WatchItem, void, undefined>;
}

/** The Threadline SDK: the runs API, history pages, and resumable event streams. Works in browsers and Node 20. */
export function createThreadlineClient(options: ThreadlineClientOptions): ThreadlineClient {
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const http = createHttpClient(options.apiUrl, options.getToken, fetchImpl);
  const streamDeps = { gatewayUrl: options.gatewayUrl, getToken: options.getToken, fetch: fetchImpl };
  const runsPath = (threadId: string) => `/v1/threads/${encodeURIComponent(threadId)}/runs`;
  const runPath = (threadId: string, runId: string) => `${runsPath(threadId)}/${encodeURIComponent(runId)}`;

  return {
    options,
    runs: {
      async create(threadId, request) {
        return parseResponse(
          CreatedRun,
          await http.request("POST", runsPath(threadId), request),
          "runs.create",
        );
      },
      async get(threadId, runId) {
        return parseResponse(RunView, await http.request("GET", runPath(threadId, runId)), "runs.get");
      },
      async cancel(threadId, runId) {
        const body = await http.request("POST", `${runPath(threadId, runId)}/cancel`);
        return parseResponse(CancelledRun, body, "runs.cancel");
      },
      async list(threadId, listOptions = {}) {
        const query = listOptions.limit === undefined ? "" : `?limit=${listOptions.limit}`;
        return parseResponse(RunList, await http.request("GET", `${runsPath(threadId)}${query}`), "runs.list")
          .runs;
      },
    },
    threads: {
      async list(listOptions = {}) {
        const query = new URLSearchParams();
        if (listOptions.limit !== undefined) query.set("limit", String(listOptions.limit));
        if (listOptions.cursor !== undefined) query.set("cursor", listOptions.cursor);
        const path = `/v1/threads${query.size ? `?${query}` : ""}`;
        return parseResponse(ThreadList, await http.request("GET", path), "threads.list");
      },
    },
    watch(threads, watchOptions = {}) {
      return watchThreads(
        {
          gatewayUrl: options.gatewayUrl,
          getToken: options.getToken,
          fetch: fetchImpl,
          ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
        },
        threads,
        watchOptions,
      );
    },
    thread(threadId) {
      const handle: ThreadHandle = {
        threadId,
        async history(page = {}) {
          const query = new URLSearchParams();
          if (page.after !== undefined) query.set("after", page.after);
          if (page.limit !== undefined) query.set("limit", String(page.limit));
          const path = `/v1/threads/${encodeURIComponent(threadId)}/events${query.size ? `?${query}` : ""}`;
          return parseResponse(HistoryPage, await http.request("GET", path), "thread.history");
        },
        async messages() {
          const path = `/v1/threads/${encodeURIComponent(threadId)}/messages`;
          return parseResponse(ThreadMessages, await http.request("GET", path), "thread.messages");
        },
        events(streamOptions = {}) {
          const { shareAcrossTabs, ...rest } = streamOptions;
          if (shareAcrossTabs) {
            const share = shareAcrossTabs === true ? {} : shareAcrossTabs;
            return createSharedThreadStream(handle, { namespace: options.gatewayUrl, ...share, ...rest });
          }
          return openEventStream(streamDeps, threadId, rest);
        },
        rawEvents(streamOptions = {}) {
          return openRawEventStream(streamDeps, threadId, streamOptions);
        },
      };
      return handle;
    },
  };
}
