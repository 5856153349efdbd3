import WebSocket from "ws";

export interface WsFrame {
  type: string;
  threadId?: string;
  code?: string;
  message?: string;
  after?: string;
  event?: Record<string, unknown> & { threadId: string; id?: string };
}

/** A real `ws` client recording every text frame the gateway sent (raw and parsed). */
export interface WsTestClient {
  socket: WebSocket;
  raw: string[];
  frames: WsFrame[];
  /** Resolves with the close code and reason once the socket closed. */
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  send(message: unknown): void;
  /** Resolves once `predicate` holds (checked on every frame); rejects after `timeoutMs` or on close. */
  waitFor(predicate: (c: WsTestClient) => boolean, timeoutMs?: number): Promise<void>;
  /** The raw event frames of one thread, in order. */
  eventsOf(threadId: string): string[];
  errors(): WsFrame[];
  /** Stops reading the socket (a client that does not read): pings go unanswered too. */
  pause(): void;
  resume(): void;
  close(): void;
}

export type WsOpenResult =
  | { ok: true; client: WsTestClient }
  | { ok: false; status: number; body: { error: { code: string; message: string } } };

/** Opens `url` (ws://…/v1/ws); a refused upgrade resolves with its HTTP status and JSON body. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<WsOpenResult> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => {
        resolve({ ok: false, status: res.statusCode ?? 0, body: JSON.parse(text) });
        socket.terminate();
      });
    });
    socket.once("error", reject);
    socket.once("open", () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve({ ok: true, client: wrap(socket) });
    });
  });
}

/** `openWs` that must succeed. */
export async function connectWs(url: string, headers: Record<string, string> = {}): Promise<WsTestClient> {
  const result = await openWs(url, headers);
  if (!result.ok) throw new Error(`upgrade refused: ${result.status} ${JSON.stringify(result.body)}`);
  return result.client;
}

function wrap(socket: WebSocket): WsTestClient {
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  let closed = false;
  const client: WsTestClient = {
    socket,
    raw: [],
    frames: [],
    closed: new Promise((resolve) =>
      socket.once("close", (code, reason) => {
        closed = true;
        resolve({ code, reason: reason.toString() });
        notify();
      }),
    ),
    isClosed: () => closed,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    waitFor(predicate, timeoutMs = 10_000) {
      if (predicate(client)) return Promise.resolve();
      return new Promise((ok, fail) => {
        const check = () => {
          if (predicate(client)) {
            cleanup();
            ok();
          } else if (closed) {
            cleanup();
            fail(new Error(`socket closed before the condition held (${client.frames.length} frames)`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          fail(new Error(`timed out after ${timeoutMs} ms (${client.frames.length} frames)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      });
    },
    eventsOf: (threadId) =>
      client.frames.flatMap((f, i) =>
        f.type === "event" && f.event?.threadId === threadId ? [client.raw[i] as string] : [],
      ),
    errors: () => client.frames.filter((f) => f.type === "error"),
    pause: () => (socket as unknown as { _socket: { pause(): void } })._socket.pause(),
    resume: () => (socket as unknown as { _socket: { resume(): void } })._socket.resume(),
    close: () => socket.terminate(),
  };
  socket.on("message", (data: Buffer) => {
    const text = data.toString();
    client.raw.push(text);
    client.frames.push(JSON.parse(text) as WsFrame);
    notify();
  });
  return client;
}
