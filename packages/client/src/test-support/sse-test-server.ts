import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeSse, encodeSseRetry, SSE_KEEPALIVE, type ThreadEvent } from "@threadline/protocol";

/** One request as the test server saw it. */
export interface SeenRequest {
  url: string;
  headers: IncomingMessage["headers"];
  at: number;
}

/** Helpers to script one response. */
export interface SseReply {
  req: IncomingMessage;
  res: ServerResponse;
  /** Sends 200 and the SSE headers. */
  open(retryMs?: number): void;
  send(event: ThreadEvent): void;
  keepalive(): void;
  /** An in-band stream error (no id), as the gateway sends TOKEN_EXPIRED / REPLAY_TRUNCATED. */
  streamError(code: string, message?: string): void;
  fail(status: number, code: string, headers?: Record<string, string>): void;
  end(): void;
}

export interface SseTestServer {
  url: string;
  requests: SeenRequest[];
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real HTTP server whose Nth request is answered by `script(reply, n)`; lets tests reproduce what a gateway
 * does on the wire (silence, `retry:`, in-band errors, status codes) without mocking fetch.
 */
export async function startSseTestServer(
  script: (reply: SseReply, n: number) => void,
): Promise<SseTestServer> {
  const requests: SeenRequest[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers, at: Date.now() });
    for (const w of waiters.filter((x) => requests.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    script(makeReply(req, res), requests.length - 1);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitForRequests: (count) =>
      requests.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function makeReply(req: IncomingMessage, res: ServerResponse): SseReply {
  return {
    req,
    res,
    open(retryMs) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform" });
      res.write(retryMs === undefined ? SSE_KEEPALIVE : encodeSseRetry(retryMs));
    },
    send: (event) => res.write(encodeSse(event)),
    keepalive: () => res.write(SSE_KEEPALIVE),
    streamError(code, message = code) {
      res.write(
        encodeSse(
          { type: "error" },
          JSON.stringify(streamErrorEvent(code, message)),
          "named",
          "stream-error",
        ),
      );
    },
    fail(status, code, headers = {}) {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify({ error: { code, message: `test says ${code}` } }));
    },
    end: () => res.end(),
  };
}

function streamErrorEvent(code: string, message: string): ThreadEvent {
  return { type: "error", threadId: "t", ts: Date.now(), content: { code, message, retryable: true } };
}

/** A token event with a replay id, for scripts. */
export function tokenEvent(n: number, text = `t${n}`): ThreadEvent {
  return { type: "token", threadId: "t", runId: "r", seq: n, ts: Date.now(), id: `${n}-0`, content: text };
}
