import http from "node:http";
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseClientOptions {
  /** Extra request headers, e.g. `{ authorization: "Bearer …" }`. */
  headers?: Record<string, string>;
  /** Sent as the `Last-Event-ID` header. */
  lastEventId?: string;
  /** Don't read the body (a stalled consumer): the socket's receive window fills up. */
  paused?: boolean;
  /** A JSON request body, sent with POST (e.g. creating a run and streaming it in one request). */
  json?: unknown;
}

/** One SSE response over a real socket, recording everything the server sent. */
export interface SseConnection {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The raw body of a non-200 response (a JSON error). */
  body: string;
  events: EventSourceMessage[];
  comments: string[];
  retry: number | undefined;
  /** The last `id:` received (what an EventSource would send as Last-Event-ID). */
  lastEventId: string | undefined;
  /** True once the response ended or the socket closed. */
  closed: boolean;
  /** Resolves when the response ends or the connection closes. */
  ended: Promise<void>;
  /** Resolves once `predicate` holds (checked on every event and comment); rejects after `timeoutMs`. */
  waitFor(predicate: (c: SseConnection) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves once at least `count` events arrived. */
  waitForEvents(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  /** Parsed JSON of each event's data. */
  json<T = Record<string, unknown>>(): T[];
  /** Opens a new connection to the same URL, resuming with `Last-Event-ID` (like EventSource). */
  reconnect(options?: SseClientOptions): Promise<SseConnection>;
  /** Starts reading a `paused` connection. */
  resume(): void;
  close(): void;
}

/**
 * Opens an SSE stream with node:http and parses it with eventsource-parser. Resolves once the
 * response headers arrive (a non-200 response is read whole into `body`).
 */
export function openSse(url: string, options: SseClientOptions = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: "text/event-stream", ...options.headers };
    if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
    if (options.json !== undefined) headers["content-type"] = "application/json";
    const request = http.request(url, {
      method: options.json === undefined ? "GET" : "POST",
      headers,
      agent: false,
    });
    request.end(options.json === undefined ? undefined : JSON.stringify(options.json));
    request.once("error", reject);
    request.once("response", (response) => {
      const waiters = new Set<() => void>();
      const notify = () => {
        for (const waiter of [...waiters]) waiter();
      };
      let markEnded = () => {};
      const conn: SseConnection = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: "",
        events: [],
        comments: [],
        retry: undefined,
        lastEventId: options.lastEventId,
        closed: false,
        ended: new Promise<void>((r) => {
          markEnded = r;
        }),
        waitFor(predicate, timeoutMs = 10_000) {
          if (predicate(conn)) return Promise.resolve();
          return new Promise((ok, fail) => {
            const check = () => {
              if (predicate(conn)) {
                cleanup();
                ok();
              } else if (conn.closed) {
                cleanup();
                fail(new Error(`stream closed before the condition held (${conn.events.length} events)`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`timed out after ${timeoutMs} ms (${conn.events.length} events)`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
          });
        },
        async waitForEvents(count, timeoutMs) {
          await conn.waitFor((c) => c.events.length >= count, timeoutMs);
          return conn.events;
        },
        json<T>() {
          return conn.events.map((e) => JSON.parse(e.data) as T);
        },
        reconnect(next = {}) {
          return openSse(url, {
            ...options,
            ...next,
            ...(conn.lastEventId !== undefined ? { lastEventId: conn.lastEventId } : {}),
          });
        },
        resume() {
          response.resume();
        },
        close() {
          request.destroy();
        },
      };
      const parser = createParser({
        onEvent: (event) => {
          conn.events.push(event);
          if (event.id !== undefined) conn.lastEventId = event.id;
          notify();
        },
        onRetry: (ms) => {
          conn.retry = ms;
        },
        onComment: (comment) => {
          conn.comments.push(comment.trim());
          notify();
        },
      });
      response.setEncoding("utf8");
      const isStream = conn.status === 200;
      response.on("data", (chunk: string) => {
        if (isStream) parser.feed(chunk);
        else conn.body += chunk;
      });
      const finish = () => {
        if (conn.closed) return;
        conn.closed = true;
        markEnded();
        notify();
      };
      response.once("end", finish);
      response.once("close", finish);
      response.once("error", finish);
      if (options.paused) response.pause();
      if (isStream) resolve(conn);
      else response.once("end", () => resolve(conn));
    });
  });
}
