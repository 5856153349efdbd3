import { afterEach, describe, expect, it } from "vitest";
import { openEventStream } from "./event-stream.js";
import { type SseTestServer, startSseTestServer, tokenEvent } from "./test-support/sse-test-server.js";
import { ThreadlineError } from "./threadline-error.js";
import type { ConnectionStateChange, EventStreamOptions, StreamItem, TokenReason } from "./types.js";

let server: SseTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function stream(options: EventStreamOptions & { tokens?: string[]; reasons?: TokenReason[] } = {}) {
  const tokens = options.tokens ?? ["tok"];
  let calls = 0;
  const changes: ConnectionStateChange[] = [];
  const iterator = openEventStream(
    {
      gatewayUrl: server!.url,
      fetch: globalThis.fetch,
      getToken: ({ reason }) => {
        options.reasons?.push(reason);
        return tokens[Math.min(calls++, tokens.length - 1)];
      },
    },
    "t",
    { backoff: { initialDelayMs: 20, random: () => 0.5 }, ...options, onStateChange: (c) => changes.push(c) },
  );
  return { iterator, changes };
}

async function take(iterator: AsyncGenerator<StreamItem>, n: number): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  for await (const item of iterator) {
    items.push(item);
    if (items.length === n) break;
  }
  return items;
}

/** A server that sends one event and holds the stream open; resolves when the client closes it. */
async function serveOneEventAndNoteClose(): Promise<{ socketClosed: Promise<void> }> {
  let closed!: () => void;
  const socketClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  server = await startSseTestServer((r) => {
    r.open();
    r.send(tokenEvent(1));
    r.res.on("close", () => closed());
  });
  // Wrapped: an async function would otherwise wait for the promise it returns.
  return { socketClosed };
}

const ids = (items: StreamItem[]) => items.map((i) => (i.kind === "event" ? i.event.id : `gap:${i.after}`));

describe("openEventStream", () => {
  it("streams typed events with the token in the Authorization header; from start sends after=0", async () => {
    server = await startSseTestServer((r) => {
      r.open(1000);
      r.send(tokenEvent(1, "hello"));
      r.send(tokenEvent(2, " world"));
    });
    const { iterator, changes } = stream({ from: "start" });
    const items = await take(iterator, 2);
    expect(items).toEqual([
      { kind: "event", event: expect.objectContaining({ type: "token", id: "1-0", content: "hello" }) },
      { kind: "event", event: expect.objectContaining({ type: "token", id: "2-0", content: " world" }) },
    ]);
    expect(server.requests[0]?.url).toBe("/v1/threads/t/events?after=0");
    expect(server.requests[0]?.headers.authorization).toBe("Bearer tok");
    expect(server.requests[0]?.headers["last-event-id"]).toBeUndefined();
    expect(changes.map((c) => c.state)).toEqual(["connecting", "live", "closed"]);
  });

  it("joins with a snapshot by default, then resumes by Last-Event-ID without asking for another; from live asks for neither", async () => {
    server = await startSseTestServer((r, n) => {
      r.open();
      if (n === 0) {
        r.send({ ...tokenEvent(3), type: "delta", content: { kind: "snapshot" } });
        r.end();
      } else r.send(tokenEvent(4));
    });
    const { iterator } = stream();
    expect(ids(await take(iterator, 2))).toEqual(["3-0", "4-0"]);
    expect(server.requests[0]?.url).toBe("/v1/threads/t/events?snapshot=1");
    expect(server.requests[1]?.url).toBe("/v1/threads/t/events");
    expect(server.requests[1]?.headers["last-event-id"]).toBe("3-0");

    const live = stream({ from: "live" });
    await take(live.iterator, 1);
    expect(server.requests[2]?.url).toBe("/v1/threads/t/events");
    expect(server.requests[2]?.headers["last-event-id"]).toBeUndefined();
  });

  it("reconnects with Last-Event-ID when the server goes silent past the heartbeat timeout", async () => {
    server = await startSseTestServer((r, n) => {
      r.open();
      if (n === 0) r.send(tokenEvent(1));
      else r.send(tokenEvent(2));
      // then silence: no keepalive
    });
    const { iterator, changes } = stream({ heartbeatTimeoutMs: 300 });
    const started = Date.now();
    const items = await take(iterator, 2);
    expect(ids(items)).toEqual(["1-0", "2-0"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(server.requests[1]?.headers["last-event-id"]).toBe("1-0");
    expect(server.requests[1]?.url).toBe("/v1/threads/t/events");
    expect(changes.find((c) => c.state === "reconnecting")?.reason).toBe("heartbeat_timeout");
    expect(changes.filter((c) => c.state === "live").map((c) => c.resumed)).toEqual([false, true]);
  });

  it("keepalive comments keep a quiet connection open", async () => {
    server = await startSseTestServer((r) => {
      r.open();
      const timer = setInterval(() => r.keepalive(), 50);
      setTimeout(() => {
        clearInterval(timer);
        r.send(tokenEvent(1));
      }, 500);
      r.res.on("close", () => clearInterval(timer));
    });
    const { iterator } = stream({ heartbeatTimeoutMs: 200 });
    expect(ids(await take(iterator, 1))).toEqual(["1-0"]);
    expect(server.requests).toHaveLength(1);
  });

  it("honours the server's retry: hint as the backoff base", async () => {
    server = await startSseTestServer((r, n) => {
      r.open(400);
      r.send(tokenEvent(n + 1));
      if (n === 0) r.end();
    });
    const { iterator, changes } = stream({ backoff: { initialDelayMs: 5000, random: () => 0.9 } });
    await take(iterator, 2);
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    expect(changes.find((c) => c.state === "reconnecting")).toMatchObject({
      reason: "server_closed",
      delayMs: 360,
    });
    expect(gap).toBeGreaterThanOrEqual(340);
    expect(gap).toBeLessThan(2000);
  });

  it("on TOKEN_EXPIRED asks for a fresh token and resumes after the last event", async () => {
    server = await startSseTestServer((r, n) => {
      r.open();
      if (n === 0) {
        r.send(tokenEvent(1));
        r.streamError("TOKEN_EXPIRED", "token expired");
        r.end();
      } else r.send(tokenEvent(2));
    });
    const reasons: TokenReason[] = [];
    const { iterator, changes } = stream({ tokens: ["old", "new"], reasons });
    expect(ids(await take(iterator, 2))).toEqual(["1-0", "2-0"]);
    expect(reasons).toEqual(["initial", "expired"]);
    expect(server.requests[1]?.headers.authorization).toBe("Bearer new");
    expect(server.requests[1]?.headers["last-event-id"]).toBe("1-0");
    expect(changes.find((c) => c.state === "reconnecting")).toMatchObject({
      reason: "token_expired",
      delayMs: 0,
    });
  });

  it("surfaces REPLAY_TRUNCATED as a typed gap item, then goes on", async () => {
    server = await startSseTestServer((r) => {
      r.open();
      r.streamError("REPLAY_TRUNCATED", "events after 5-0 were trimmed");
      r.send(tokenEvent(9));
    });
    const { iterator } = stream({ from: "5-0" });
    const items = await take(iterator, 2);
    expect(items[0]).toEqual({
      kind: "gap",
      reason: "REPLAY_TRUNCATED",
      message: "events after 5-0 were trimmed",
      after: "5-0",
    });
    expect(ids(items)).toEqual(["gap:5-0", "9-0"]);
    expect(server.requests[0]?.headers["last-event-id"]).toBe("5-0");
  });

  it.each([400, 403, 404])(
    "%i is fatal: rejects with a ThreadlineError and does not retry",
    async (status) => {
      server = await startSseTestServer((r) => r.fail(status, "NOPE"));
      const { iterator, changes } = stream();
      const error = await take(iterator, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ThreadlineError);
      expect(error).toMatchObject({ status, code: "NOPE", message: "test says NOPE" });
      expect(server.requests).toHaveLength(1);
      expect(changes.at(-1)).toMatchObject({ state: "closed", reason: "fatal", error });
    },
  );

  it("401 is fatal once a freshly requested token is refused too", async () => {
    server = await startSseTestServer((r) => r.fail(401, "UNAUTHORIZED"));
    const reasons: TokenReason[] = [];
    const { iterator } = stream({ tokens: ["stale", "still-bad"], reasons });
    await expect(take(iterator, 1)).rejects.toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(reasons).toEqual(["initial", "expired"]);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(["Bearer stale", "Bearer still-bad"]);
  });

  it("a token that expired while disconnected is replaced, and the stream resumes", async () => {
    server = await startSseTestServer((r, n) => {
      if (n === 1) return r.fail(401, "TOKEN_EXPIRED");
      r.open();
      r.send(tokenEvent(n + 1));
      if (n === 0) r.end();
    });
    const reasons: TokenReason[] = [];
    const { iterator } = stream({ tokens: ["first", "first", "fresh"], reasons });
    expect(ids(await take(iterator, 2))).toEqual(["1-0", "3-0"]);
    expect(reasons).toEqual(["initial", "reconnect", "expired"]);
    expect(server.requests[2]?.headers["last-event-id"]).toBe("1-0");
  });

  it.each([429, 503])("%i waits for Retry-After before the next attempt", async (status) => {
    server = await startSseTestServer((r, n) => {
      if (n === 0) return r.fail(status, "BUSY", { "retry-after": "1" });
      r.open();
      r.send(tokenEvent(1));
    });
    const { iterator, changes } = stream();
    expect(ids(await take(iterator, 1))).toEqual(["1-0"]);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(changes.find((c) => c.state === "reconnecting")).toMatchObject({
      reason: "http_error",
      delayMs: 1000,
    });
  });

  it("drops an event id it has already delivered", async () => {
    server = await startSseTestServer((r, n) => {
      r.open();
      if (n === 0) {
        r.send(tokenEvent(1));
        return r.end();
      }
      r.send(tokenEvent(1));
      r.send(tokenEvent(2));
    });
    const { iterator } = stream();
    expect(ids(await take(iterator, 2))).toEqual(["1-0", "2-0"]);
  });

  it("ends cleanly when the signal aborts, and closes the connection", async () => {
    const { socketClosed } = await serveOneEventAndNoteClose();
    const controller = new AbortController();
    const { iterator, changes } = stream({ signal: controller.signal });
    const seen: StreamItem[] = [];
    for await (const item of iterator) {
      seen.push(item);
      controller.abort();
    }
    expect(ids(seen)).toEqual(["1-0"]);
    await socketClosed;
    expect(changes.at(-1)).toMatchObject({ state: "closed", reason: "aborted" });
  });

  it("closes the connection when the consumer stops early (no signal)", async () => {
    const { socketClosed } = await serveOneEventAndNoteClose();
    const { iterator, changes } = stream();
    expect(ids(await take(iterator, 1))).toEqual(["1-0"]);
    await socketClosed;
    expect(changes.at(-1)).toMatchObject({ state: "closed", reason: "aborted" });
  });

  it("rejects a malformed from before connecting", async () => {
    server = await startSseTestServer((r) => r.open());
    await expect(take(stream({ from: "yesterday" }).iterator, 1)).rejects.toThrow(/from must be/);
    expect(server.requests).toHaveLength(0);
  });
});
