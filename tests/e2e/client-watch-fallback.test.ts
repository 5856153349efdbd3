import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { signDevToken } from "@threadline/auth";
import {
  createThreadlineClient,
  type WatchChange,
  type WatchItem,
  type WatchOptions,
  type WatchStateChange,
  type WebSocketConstructor,
} from "@threadline/client";
import { DEV_JWT_SECRET } from "@threadline/config";
import { decodeVector } from "@threadline/protocol";
import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import {
  getTestRedis,
  type ServiceInstance,
  startServiceProcess,
  type TestRedis,
  uniqueId,
} from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";

// client.watch's SSE fallback (docs/ARCHITECTURE.md, "client.watch"): a real gateway process on a real
// Redis, reached through a real HTTP proxy whose handling of the WebSocket upgrade each test sets.
let redis: TestRedis;
let admin: RedisClient;
let gateway: ServiceInstance;
let proxy: Proxy;
const SUB = "watch-fallback";
const token = (threads: string[] = ["*"], ttlSeconds = 3600) =>
  signDevToken(DEV_JWT_SECRET, { sub: SUB, threads, ttlSeconds });

/**
 * `pass`: a WebSocket-aware proxy (the upgrade is tunnelled). `strip-upgrade`: a proxy that forwards the
 * upgrade as a plain GET (drops `Upgrade`/`Connection`), so the gateway answers 426. `no-ws-route`: 404
 * for /v1/ws. `hold-upgrade`: the upgrade is never answered. Everything else is forwarded as is, SSE
 * streamed.
 */
type ProxyMode = "pass" | "strip-upgrade" | "no-ws-route" | "hold-upgrade";
interface Proxy {
  url: string;
  mode: ProxyMode;
  /** Every request as `METHOD path` (upgrades as `UPGRADE path`), with its Last-Event-ID. */
  seen: { line: string; lastEventId: string | undefined; status?: number }[];
  /** Drops every tunnelled socket (both sides), as a proxy restart would. */
  dropTunnels(): void;
  close(): Promise<void>;
}

async function startProxy(target: URL): Promise<Proxy> {
  const tunnels = new Set<Socket>();
  const seen: Proxy["seen"] = [];
  const forward = (
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    onResponse: (
      status: number,
      message: string,
      headers: Record<string, unknown>,
      body: NodeJS.ReadableStream,
    ) => void,
    entry: Proxy["seen"][number],
  ) => {
    const upstream = request(
      { host: target.hostname, port: target.port, method, path, headers },
      (response) => {
        entry.status = response.statusCode ?? 0;
        onResponse(response.statusCode ?? 502, response.statusMessage ?? "", response.headers, response);
      },
    );
    upstream.on("error", () => {});
    return upstream;
  };
  const server: Server = createServer((req, res) => {
    const entry: Proxy["seen"][number] = {
      line: `${req.method} ${req.url}`,
      lastEventId: req.headers["last-event-id"] as string | undefined,
    };
    seen.push(entry);
    if (state.mode === "no-ws-route" && req.url?.startsWith("/v1/ws")) {
      entry.status = 404;
      res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>");
      return;
    }
    const upstream = forward(
      req.method ?? "GET",
      req.url ?? "/",
      req.headers,
      (status, _message, headers, body) => {
        res.writeHead(status, headers as Record<string, string>);
        body.pipe(res);
      },
      entry,
    );
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket: Socket, head: Buffer) => {
    const entry: Proxy["seen"][number] = { line: `UPGRADE ${req.url}`, lastEventId: undefined };
    seen.push(entry);
    socket.on("error", () => {});
    if (state.mode === "hold-upgrade") {
      tunnels.add(socket);
      return;
    }
    if (state.mode === "no-ws-route") {
      socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    if (state.mode === "strip-upgrade") {
      const { upgrade: _u, connection: _c, ...plain } = req.headers;
      forward(
        "GET",
        req.url ?? "/",
        plain,
        (status, message, headers, body) => {
          let text = "";
          body.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          body.on("end", () => {
            const lines = Object.entries(headers)
              .filter(([name]) => name !== "transfer-encoding" && name !== "connection")
              .map(([name, value]) => `${name}: ${value}`);
            socket.end(
              `HTTP/1.1 ${status} ${message}\r\n${lines.join("\r\n")}\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
            );
          });
        },
        entry,
      ).end();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname, () => {
      const headerLines = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        headerLines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`GET ${req.url} HTTP/1.1\r\n${headerLines.join("\r\n")}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
    tunnels.add(socket);
    tunnels.add(upstream);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address() as { port: number };
  const state: Proxy = {
    url: `http://127.0.0.1:${address.port}`,
    mode: "pass",
    seen,
    dropTunnels() {
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
    async close() {
      this.dropTunnels();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return state;
}

beforeAll(async () => {
  redis = await getTestRedis();
  admin = createRedisClient({ url: redis.url }, { name: "watch-fallback-admin" });
  gateway = await startServiceProcess({
    kind: "gateway",
    env: {
      REDIS_URL: redis.url,
      JWT_CLOCK_TOLERANCE_S: "0",
      LOG_LEVEL: "warn",
      HEARTBEAT_INTERVAL_MS: "1000",
      MAX_THREADS_PER_CONNECTION: "4",
    },
  });
  proxy = await startProxy(new URL(gateway.url));
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await gateway?.process.stop(5_000);
  await closeRedisClient(admin);
  await redis?.stop();
}, 60_000);

async function publish(threadId: string, text: string) {
  return createEventPublisher(admin, { logMaxLen: 1000, logTtlSeconds: 600 }).publish(
    { threadId, runId: "r1" },
    { type: "token", content: text },
  );
}
const logIds = async (threadId: string) =>
  (await readLog(admin, threadId, "0", 1000)).entries.map((e) => e.id);

function watcher(
  threads: readonly string[] | AsyncIterable<WatchChange>,
  options: Omit<WatchOptions, "signal" | "onStateChange" | "WebSocket"> & {
    getToken?: () => string;
    /** null: the client has no WebSocket class. */
    WebSocket?: unknown;
  } = {},
) {
  const { getToken = () => token(), WebSocket: socketClass = WebSocket, ...watchOptions } = options;
  const client = createThreadlineClient({
    apiUrl: proxy.url,
    gatewayUrl: proxy.url,
    getToken,
    ...(socketClass ? { WebSocket: socketClass as WebSocketConstructor } : {}),
  });
  const controller = new AbortController();
  const items: WatchItem[] = [];
  const changes: WatchStateChange[] = [];
  const failure = (async () => {
    for await (const item of client.watch(threads, {
      backoff: { initialDelayMs: 50, maxDelayMs: 300 },
      // These tests follow live joins; `from: undefined` asks for the SDK's default (a snapshot join).
      from: "live",
      ...watchOptions,
      signal: controller.signal,
      onStateChange: (c) => changes.push(c),
    }))
      items.push(item);
  })().then(
    () => undefined,
    (error: unknown) => error,
  );
  return { items, changes, failure, stop: () => controller.abort() };
}

/** A push-fed async iterable of changes. */
function changeFeed() {
  const pending: WatchChange[] = [];
  let wake = () => {};
  return {
    push(change: WatchChange) {
      pending.push(change);
      wake();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = pending.shift();
          if (next) yield next;
          else await new Promise<void>((r) => (wake = r));
        }
      },
    } as AsyncIterable<WatchChange>,
  };
}

const idsOf = (items: WatchItem[], threadId: string) =>
  items.flatMap((i) => (i.kind === "event" && i.threadId === threadId ? [i.event.id] : []));
/** A thread's first delivered event. */
const firstOf = (items: WatchItem[], threadId: string) =>
  items.flatMap((i) => (i.kind === "event" && i.threadId === threadId ? [i.event] : []))[0];
const requestsTo = (path: string, from = 0) => proxy.seen.slice(from).filter((s) => s.line.includes(path));
const poll = (fn: () => unknown, timeout = 20_000) => expect.poll(fn, { timeout, interval: 50 });

describe("client.watch joins with a snapshot by default (issue 18 item 6)", () => {
  it.each([
    ["websocket", "pass"],
    ["sse", "strip-upgrade"],
  ] as const)(
    "over %s: each thread's run so far as one event, then live; a reconnect or reopen resumes from it",
    async (transport, mode) => {
      proxy.mode = mode;
      const [a, b, quiet, late] = [uniqueId("sn-a"), uniqueId("sn-b"), uniqueId("sn-q"), uniqueId("sn-l")];
      const textOf = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}${i} `);
      for (const [thread, prefix] of [
        [a, "a"],
        [b, "b"],
        [late, "l"],
      ] as const)
        for (const text of textOf(prefix)) await publish(thread, text);
      const feed = changeFeed();
      const w = watcher(feed.iterable, { from: undefined });
      feed.push({ add: [a, b, quiet] });
      await poll(() => w.changes.find((s) => s.state === "live")?.transport).toBe(transport);
      await poll(() => [a, b, quiet].every((t) => firstOf(w.items, t) !== undefined)).toBe(true);
      const expectSnapshot = async (thread: string, prefix: string) => {
        const first = firstOf(w.items, thread);
        expect(first).toMatchObject({ type: "delta", runId: "r1", content: { kind: "snapshot" } });
        expect(first?.id).toBe((await logIds(thread)).at(-1));
        expect((first?.content as { run?: { text?: string } } | undefined)?.run?.text).toBe(
          textOf(prefix).join(""),
        );
      };
      await expectSnapshot(a, "a");
      await expectSnapshot(b, "b");
      expect(firstOf(w.items, quiet)).toMatchObject({ type: "delta", content: { kind: "snapshot" } });

      // Then live. The WebSocket is dropped (a reconnect); over SSE adding a thread reopens the stream
      // with the positions held. Either way a and b resume after their last id (no second snapshot),
      // and the added thread joins with its own snapshot.
      const a1 = await publish(a, "live-a");
      await poll(() => idsOf(w.items, a).at(-1)).toBe(a1.id);
      if (transport === "websocket") proxy.dropTunnels();
      feed.push({ add: [late] });
      await poll(() => firstOf(w.items, late) !== undefined).toBe(true);
      await expectSnapshot(late, "l");
      const b1 = await publish(b, "live-b");
      const q1 = await publish(quiet, "q1");
      await poll(() => idsOf(w.items, b).at(-1)).toBe(b1.id);
      await poll(() => idsOf(w.items, quiet).at(-1)).toBe(q1.id);
      w.stop();
      expect(await w.failure).toBeUndefined();
      expect(idsOf(w.items, a).slice(1)).toEqual([a1.id]);
      expect(idsOf(w.items, b).slice(1)).toEqual([b1.id]);
      if (transport === "websocket") {
        expect(w.changes.filter((s) => s.state === "live").length).toBeGreaterThanOrEqual(2);
      }
    },
  );
});

describe("client.watch falls back to multiplexed SSE", () => {
  it("when a proxy drops the upgrade (426): SSE with per-thread resume; adds join live, removes stop, positions held", async () => {
    proxy.mode = "strip-upgrade";
    const mark = proxy.seen.length;
    const [a, b, c] = [uniqueId("fb-a"), uniqueId("fb-b"), uniqueId("fb-c")];
    await publish(a, "before the watch");
    const feed = changeFeed();
    const w = watcher(feed.iterable);
    feed.push({ add: [a, b] });
    await poll(() => w.changes.find((s) => s.state === "live")?.transport).toBe("sse");
    expect(w.changes.map((s) => s.reason)).toContain("fallback");
    await poll(() => requestsTo("/v1/events", mark).at(-1)?.status).toBe(200);
    const a1 = await publish(a, "a1");
    await publish(b, "b1");
    await poll(() => idsOf(w.items, b)).toHaveLength(1);
    await poll(() => idsOf(w.items, a)).toEqual([a1.id]);
    // c gets an event BEFORE it is added: it joins live, so that one is never delivered.
    await publish(c, "c0 (before c is watched)");
    const opened = requestsTo("/v1/events", mark).length;
    feed.push({ add: [c] });
    // Published while the SSE connection is reopened with the new list: resumed, not lost, not doubled.
    await publish(a, "a2");
    await poll(() => requestsTo("/v1/events", mark).length).toBe(opened + 1);
    const reopened = requestsTo("/v1/events", mark).at(-1)!;
    expect(reopened.line).toContain(`threads=${a}%2C${b}%2C${c}`);
    const vector = decodeVector(reopened.lastEventId ?? "", [a, b, c]);
    expect(vector).toMatchObject({ ok: true, positions: [a1.id, expect.any(String), undefined] });
    await poll(() => reopened.status).toBe(200);
    await publish(c, "c1");
    await publish(b, "b2");
    await poll(() => idsOf(w.items, c)).toHaveLength(1);
    await poll(() => idsOf(w.items, b)).toHaveLength(2);
    // Remove a: the next connection carries b and c only, and a's later events stay away.
    feed.push({ remove: [a] });
    await poll(() => requestsTo("/v1/events", mark).at(-1)?.line).toBe(`GET /v1/events?threads=${b}%2C${c}`);
    await poll(() => requestsTo("/v1/events", mark).at(-1)?.status).toBe(200);
    await publish(a, "a3 (after a was removed)");
    await publish(b, "b3");
    await poll(() => idsOf(w.items, b)).toHaveLength(3);
    w.stop();
    expect(await w.failure).toBeUndefined();
    expect(idsOf(w.items, a)).toEqual((await logIds(a)).slice(1, 3));
    expect(idsOf(w.items, b)).toEqual(await logIds(b));
    expect(idsOf(w.items, c)).toEqual((await logIds(c)).slice(1));
    expect(w.items.filter((i) => i.kind !== "event")).toEqual([]);
    // Changes reopen the stream without reporting a reconnect.
    expect(w.changes.filter((s) => s.state === "reconnecting").map((s) => s.reason)).toEqual(["fallback"]);
  });

  it("when a proxy holds the upgrade unanswered: the socket is given up after heartbeatTimeoutMs", async () => {
    proxy.mode = "hold-upgrade";
    const mark = proxy.seen.length;
    const t = uniqueId("fb-held");
    const w = watcher([t], { from: "start", heartbeatTimeoutMs: 1_000 });
    await poll(() => w.changes.find((s) => s.state === "live")?.transport).toBe("sse");
    expect(w.changes.find((s) => s.state === "reconnecting")).toMatchObject({ reason: "fallback" });
    // One upgrade held, then the plain GET that found the gateway would have taken it (426).
    const tried = requestsTo("/v1/ws", mark);
    expect(tried).toHaveLength(2);
    expect(tried[0]?.line).toMatch(/^UPGRADE \/v1\/ws/);
    expect(tried[1]).toMatchObject({ line: "GET /v1/ws", status: 426 });
    await publish(t, "one");
    await poll(() => idsOf(w.items, t)).toEqual(await logIds(t));
    w.stop();
    proxy.dropTunnels();
  });

  it("when /v1/ws is not routed (404), and when there is no WebSocket class at all", async () => {
    proxy.mode = "no-ws-route";
    const t = uniqueId("fb-404");
    const w = watcher([t], { from: "start" });
    await poll(() => w.changes.find((s) => s.state === "live")?.transport).toBe("sse");
    await publish(t, "one");
    await poll(() => idsOf(w.items, t)).toEqual(await logIds(t));
    w.stop();

    proxy.mode = "pass";
    vi.stubGlobal("WebSocket", undefined);
    try {
      const mark = proxy.seen.length;
      const u = uniqueId("fb-none");
      const none = watcher([u], { from: "start", WebSocket: null });
      await poll(() => none.changes.find((s) => s.state === "live")?.transport).toBe("sse");
      // Straight to SSE: no upgrade was tried, so no fallback was reported.
      expect(none.changes[0]).toMatchObject({ state: "connecting", transport: "sse" });
      expect(requestsTo("/v1/ws", mark)).toEqual([]);
      await publish(u, "one");
      await poll(() => idsOf(none.items, u)).toEqual(await logIds(u));
      none.stop();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("never with transport: 'websocket', nor once a socket has opened: it keeps retrying the socket and resumes on it", async () => {
    proxy.mode = "strip-upgrade";
    let mark = proxy.seen.length;
    const forced = watcher([uniqueId("fb-ws")], { transport: "websocket" });
    await poll(() => w2Reasons(forced.changes)).toEqual(["network", "network"]);
    forced.stop();
    expect(requestsTo("/v1/events", mark)).toEqual([]);

    proxy.mode = "pass";
    const t = uniqueId("fb-opened");
    const w = watcher([t], { from: "start" });
    await poll(() => w.changes.find((s) => s.state === "live")?.transport).toBe("websocket");
    await publish(t, "one");
    await poll(() => idsOf(w.items, t)).toHaveLength(1);
    mark = proxy.seen.length;
    proxy.mode = "strip-upgrade";
    proxy.dropTunnels();
    await poll(() => requestsTo("UPGRADE /v1/ws", mark).length).toBeGreaterThanOrEqual(2);
    await publish(t, "two (while the socket cannot open)");
    expect(requestsTo("/v1/events", mark)).toEqual([]);
    proxy.mode = "pass";
    await poll(() => w.changes.filter((s) => s.state === "live")).toHaveLength(2);
    await publish(t, "three");
    await poll(() => idsOf(w.items, t)).toEqual(await logIds(t));
    expect(w.changes.every((s) => s.transport === "websocket")).toBe(true);
    w.stop();
  });

  it("over SSE, a thread the token does not grant and threads past MAX_THREADS_PER_CONNECTION end alone", async () => {
    proxy.mode = "pass";
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => uniqueId("fb-refuse")) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const w = watcher([a, b, c, d, e], {
      transport: "sse",
      from: "start",
      getToken: () => token([a, c, d, e]),
    });
    await poll(() => w.items.filter((i) => i.kind === "error")).toHaveLength(2);
    expect(w.items.filter((i) => i.kind === "error")).toEqual([
      // Four per connection on this gateway: the one added last goes first (the route checks the count).
      expect.objectContaining({ threadId: e, code: "TOO_MANY_THREADS", retrying: false }),
      expect.objectContaining({ threadId: b, code: "FORBIDDEN", retrying: false }),
    ]);
    await Promise.all([a, c, d].map((t) => publish(t, "x")));
    for (const t of [a, c, d]) await poll(() => idsOf(w.items, t)).toEqual(await logIds(t));
    w.stop();
    expect(await w.failure).toBeUndefined();
  });

  it("over SSE, an expired token is refreshed and every thread resumes; a token refused for good fails the watch", async () => {
    proxy.mode = "pass";
    const [a, b] = [uniqueId("fb-exp"), uniqueId("fb-exp")];
    const reasons: string[] = [];
    const client = createThreadlineClient({
      apiUrl: proxy.url,
      gatewayUrl: proxy.url,
      getToken: ({ reason }) => {
        reasons.push(reason);
        return token(["*"], 2);
      },
    });
    const items: WatchItem[] = [];
    const controller = new AbortController();
    const done = (async () => {
      for await (const item of client.watch([a, b], {
        transport: "sse",
        from: "start",
        signal: controller.signal,
      }))
        items.push(item);
    })();
    for (let i = 0; i < 8; i++) {
      await publish(i % 2 ? a : b, `t${i}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await poll(() => reasons.filter((r) => r === "expired").length).toBeGreaterThanOrEqual(1);
    await poll(() => idsOf(items, a)).toEqual(await logIds(a));
    await poll(() => idsOf(items, b)).toEqual(await logIds(b));
    controller.abort();
    await done;

    const refused = watcher([a], { transport: "sse", getToken: () => "not-a-jwt" });
    expect(await refused.failure).toMatchObject({ status: 401, code: "TOKEN_INVALID" });
  });
});

/** The reasons of the watch's reconnects, first two. */
function w2Reasons(changes: WatchStateChange[]) {
  return changes
    .filter((s) => s.state === "reconnecting")
    .slice(0, 2)
    .map((s) => s.reason);
}
