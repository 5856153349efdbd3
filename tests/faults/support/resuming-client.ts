import http from "node:http";
import { createParser } from "eventsource-parser";

export interface ReceivedEvent {
  id?: string;
  type: string;
  seq?: number;
  runId?: string;
  content: unknown;
}

export interface ConnectionRecord {
  url: string;
  /** Why this connection ended: "done", "ended" (server closed), "heartbeat_timeout", "error: …", or "http <status>". */
  end: string;
  events: number;
}

export interface ResumingClientOptions {
  /** Gateway base URLs; a connection that fails moves on to the next one (like DNS/LB failover). */
  urls: string[];
  threadId: string;
  /** `Bearer <jwt>`. */
  authorization: string;
  /** Declared dead when nothing (event or `: keepalive`) arrives for this long: a half-open socket. */
  heartbeatTimeoutMs: number;
  /** Wait between reconnects (EventSource waits `retry:`; tests keep it short). Default 100 ms. */
  reconnectDelayMs?: number;
  /** Start position; default "0" (everything retained). */
  after?: string;
  /** Do not read the body (a stalled consumer) until `resumeReading()`. Applies to the first connection. */
  pausedFirst?: boolean;
}

export interface ResumingClient {
  events: ReceivedEvent[];
  /** When each event arrived (ms since epoch), parallel to `events`. */
  receivedAt: number[];
  /** Index into `connections` of the connection each event came on, parallel to `events`. */
  receivedOn: number[];
  connections: ConnectionRecord[];
  /** Resolves once a `done` (or terminal run `error`) arrived; rejects after `timeoutMs`. */
  untilDone(timeoutMs: number): Promise<ReceivedEvent[]>;
  /** Resolves once `count` events arrived. */
  untilEvents(count: number, timeoutMs: number): Promise<void>;
  /** Starts reading a paused first connection. */
  resumeReading(): void;
  close(): void;
}

/**
 * Follows one thread the way a browser EventSource does, plus a liveness check: it reconnects with
 * `Last-Event-ID` whenever the stream ends, fails, or stays silent past `heartbeatTimeoutMs` (the
 * gateway sends `: keepalive` every HEARTBEAT_INTERVAL_MS, so silence means a dead peer).
 */
export function startResumingClient(options: ResumingClientOptions): ResumingClient {
  const events: ReceivedEvent[] = [];
  const receivedAt: number[] = [];
  const receivedOn: number[] = [];
  const connections: ConnectionRecord[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  let lastEventId = options.after ?? "0";
  let urlIndex = 0;
  let closed = false;
  let done = false;
  let current: http.ClientRequest | undefined;
  let resumePaused: (() => void) | undefined;

  const connect = (paused: boolean) => {
    if (closed || done) return;
    const url = options.urls[urlIndex % options.urls.length]!;
    const record: ConnectionRecord = { url, end: "open", events: 0 };
    connections.push(record);
    let finished = false;
    let watchdog: NodeJS.Timeout | undefined;
    const finish = (end: string, moveOn: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(watchdog);
      record.end = end;
      request.destroy();
      if (moveOn) urlIndex++;
      notify();
      if (!closed && !done) setTimeout(() => connect(false), options.reconnectDelayMs ?? 100);
    };
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => finish("heartbeat_timeout", true), options.heartbeatTimeoutMs);
    };
    const request = http.get(`${url}/v1/threads/${options.threadId}/events`, {
      agent: false,
      headers: {
        accept: "text/event-stream",
        authorization: options.authorization,
        "last-event-id": lastEventId,
      },
    });
    current = request;
    arm();
    request.once("error", (error) => finish(`error: ${error.message}`, true));
    request.once("response", (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        return finish(`http ${response.statusCode}`, true);
      }
      const parser = createParser({
        onEvent: (message) => {
          arm();
          const event = JSON.parse(message.data) as ReceivedEvent;
          events.push(event);
          receivedAt.push(Date.now());
          receivedOn.push(connections.indexOf(record));
          record.events++;
          if (message.id) lastEventId = message.id;
          if (event.type === "done") {
            done = true;
            finish("done", false);
          }
          notify();
        },
        onComment: () => arm(),
      });
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        arm();
        parser.feed(chunk);
      });
      response.once("end", () => finish("ended", false));
      response.once("close", () => finish("ended", false));
      response.once("error", (error) => finish(`error: ${error.message}`, true));
      if (paused) {
        response.pause();
        // A paused reader still has a live socket: the watchdog must not count its own stall.
        clearTimeout(watchdog);
        resumePaused = () => {
          arm();
          response.resume();
        };
      }
    });
  };

  const waitFor = (ok: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}: ${events.length} events, ${connections.length} connections, last ${JSON.stringify(connections.slice(-3))}`,
          ),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  connect(options.pausedFirst === true);
  return {
    events,
    receivedAt,
    receivedOn,
    connections,
    async untilDone(timeoutMs) {
      await waitFor(() => done, timeoutMs, "done");
      return events;
    },
    untilEvents: (count, timeoutMs) => waitFor(() => events.length >= count, timeoutMs, `${count} events`),
    resumeReading: () => resumePaused?.(),
    close() {
      closed = true;
      current?.destroy();
    },
  };
}
