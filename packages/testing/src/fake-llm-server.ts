import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One scripted answer: a JSON response (errors), or an SSE stream written frame by frame. */
export type FakeReply =
  | { kind: "json"; status: number; headers?: Record<string, string>; body: unknown }
  | {
      kind: "sse";
      /** Raw SSE frames, each written (and flushed) on its own, e.g. `data: {...}\n\n`. */
      frames: string[];
      headers?: Record<string, string>;
      /** Pause between frames, so a test can act mid-stream. */
      frameDelayMs?: number;
      /** After the frames: end the response (default), destroy the socket, or keep it open. */
      after?: "end" | "destroy" | "hang";
    };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** The parsed JSON body (undefined when not JSON). */
  body: unknown;
}

/** What happened to one response: how far it got and whether the client hung up first. */
export interface ResponseRecord {
  framesWritten: number;
  /** Resolves when the connection closes; `early` when the client closed it before the reply ended. */
  closed: Promise<{ early: boolean }>;
}

export interface FakeLlmServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: RecordedRequest[];
  responses: ResponseRecord[];
  /** Replies for the next requests, in order. */
  enqueue(...replies: FakeReply[]): void;
  /** The reply once the queue is empty (default: a 500 saying the script ran out). */
  setFallback(reply: FakeReply | ((request: RecordedRequest) => FakeReply)): void;
  close(): Promise<void>;
}

/**
 * A scripted HTTP server on a free port for LLM wire-format tests: each request takes the next reply.
 * Provider-specific frame builders live in fake-openai-server.ts and fake-anthropic-server.ts.
 */
export async function startFakeLlmServer(): Promise<FakeLlmServer> {
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  const responses: ResponseRecord[] = [];
  let fallback: FakeReply | ((request: RecordedRequest) => FakeReply) = {
    kind: "json",
    status: 500,
    body: { error: { message: "fake LLM server: no scripted reply left", type: "server_error" } },
  };

  const server = createServer(async (req, res) => {
    const request = await record(req);
    requests.push(request);
    const reply = queue.shift() ?? (typeof fallback === "function" ? fallback(request) : fallback);
    const entry = track(res);
    responses.push(entry.record);
    await respond(res, reply, entry);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    responses,
    enqueue: (...replies) => void queue.push(...replies),
    setFallback: (reply) => {
      fallback = reply;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body };
}

interface Tracked {
  record: ResponseRecord;
  isClosed: () => boolean;
  markDone: () => void;
}

function track(res: ServerResponse): Tracked {
  let closed = false;
  let done = false;
  const record: ResponseRecord = {
    framesWritten: 0,
    closed: new Promise((resolve) => {
      res.on("close", () => {
        closed = true;
        resolve({ early: !done });
      });
    }),
  };
  const markDone = () => {
    done = true;
  };
  return { record, isClosed: () => closed, markDone };
}

async function respond(res: ServerResponse, reply: FakeReply, entry: Tracked): Promise<void> {
  if (reply.kind === "json") {
    entry.markDone();
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
    res.end(JSON.stringify(reply.body));
    return;
  }
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    ...reply.headers,
  });
  res.flushHeaders();
  for (const frame of reply.frames) {
    if (reply.frameDelayMs) await new Promise((resolve) => setTimeout(resolve, reply.frameDelayMs));
    if (entry.isClosed()) return;
    // Wait for the flush, so a later socket destroy cannot discard frames already "written".
    await new Promise<void>((resolve) => res.write(frame, () => resolve()));
    entry.record.framesWritten++;
  }
  const after = reply.after ?? "end";
  if (after === "end") {
    entry.markDone();
    res.end();
  } else if (after === "destroy") {
    entry.markDone();
    res.socket?.destroy();
  }
}
