// @vitest-environment happy-dom
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createThreadlineClient } from "@threadline/client";
import {
  createReducedRun,
  encodeWsEvent,
  reduceRun,
  snapshotContent,
  type ThreadEvent,
} from "@threadline/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { mountHook, unmountHooks, until } from "./test-support/hook-harness.js";
import { type UseThreadsOptions, useThreads } from "./use-threads.js";

interface Gateway {
  url: string;
  /** Every socket that connected, in order, with the messages it sent. */
  sockets: { socket: WebSocket; received: Record<string, unknown>[] }[];
  send(threadId: string, event: ThreadEvent): void;
  close(): Promise<void>;
}

/**
 * A real WebSocket endpoint speaking the gateway's `/v1/ws` frames: `subscribed` (at position "7-0" for
 * a live-only subscribe), events sent by the test, `FORBIDDEN` for threads named "forbidden-*".
 */
async function startGateway(): Promise<Gateway> {
  const server = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server, path: "/v1/ws" });
  const sockets: Gateway["sockets"] = [];
  const subscribed = new Map<string, WebSocket>();
  wss.on("connection", (socket) => {
    const entry = { socket, received: [] as Record<string, unknown>[] };
    sockets.push(entry);
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; threadId: string; after?: string };
      entry.received.push(message);
      if (message.type === "unsubscribe") subscribed.delete(message.threadId);
      if (message.type !== "subscribe") return;
      if (message.threadId.startsWith("forbidden-")) {
        socket.send(
          JSON.stringify({ type: "error", code: "FORBIDDEN", message: "no", threadId: message.threadId }),
        );
        return;
      }
      subscribed.set(message.threadId, socket);
      socket.send(
        JSON.stringify({ type: "subscribed", threadId: message.threadId, after: message.after ?? "7-0" }),
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    send: (threadId, event) => subscribed.get(threadId)?.send(encodeWsEvent(JSON.stringify(event))),
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}

let gateway: Gateway | undefined;
afterEach(async () => {
  await unmountHooks();
  await gateway?.close();
  gateway = undefined;
});

const renderHook = (options: UseThreadsOptions) =>
  mountHook((threads: string[]) => useThreads(threads, options));

let seq = 0;
const token = (threadId: string, content: string): ThreadEvent => {
  seq += 1;
  return { type: "token", threadId, runId: "r1", seq, ts: Date.now(), id: `${seq + 100}-0`, content };
};

/** A client whose API and gateway are `g`, with a token the fake gateway accepts. */
const clientFor = (g: Gateway) =>
  createThreadlineClient({ apiUrl: g.url, gatewayUrl: g.url, getToken: () => "tok" });

const subscribes = (g: Gateway, socket = 0) =>
  g.sockets[socket]?.received.filter((m) => m.type === "subscribe") ?? [];

describe("useThreads", () => {
  it("keeps a view per thread over ONE socket; adding and removing ids (un)subscribes on that socket", async () => {
    gateway = await startGateway();
    const client = clientFor(gateway);
    const { result, render } = renderHook({ client });
    await render(["a", "b"]);
    await until(() => subscribes(gateway!).length === 2, "two subscribes");
    await until(() => result.current?.state === "live", "live");
    gateway.send("a", token("a", "from a"));
    gateway.send("b", token("b", "from b"));
    await until(() => result.current?.views.b?.current?.text === "from b", "b's text");
    expect(result.current?.views.a?.current?.text).toBe("from a");

    // The same ids in a new array (rendered inline) change nothing.
    await render(["b", "a"]);
    await render(["a", "b", "c"]);
    await until(() => subscribes(gateway!).length === 3, "c subscribed");
    await render(["b", "c"]);
    await until(() => gateway!.sockets[0]!.received.some((m) => m.type === "unsubscribe"), "a unsubscribed");
    expect(result.current?.views.a).toBeUndefined();
    gateway.send("c", token("c", "from c"));
    await until(() => result.current?.views.c?.current?.text === "from c", "c's text");
    expect(gateway.sockets).toHaveLength(1);
    expect(subscribes(gateway).map((m) => m.threadId)).toEqual(["a", "b", "c"]);
    expect(gateway.sockets[0]!.received.filter((m) => m.type === "unsubscribe")).toEqual([
      { type: "unsubscribe", threadId: "a" },
    ]);
  });

  it("resubscribes every thread from its last event id (or its subscribed position) after the socket drops", async () => {
    gateway = await startGateway();
    const client = clientFor(gateway);
    const { result, render } = renderHook({
      client,
      from: "live",
      backoff: { initialDelayMs: 10, maxDelayMs: 20 },
    });
    await render(["x", "y"]);
    await until(() => subscribes(gateway!).length === 2, "two subscribes");
    const last = token("x", "before the drop");
    gateway.send("x", last);
    await until(() => result.current?.views.x?.current?.text === "before the drop", "x's text");
    gateway.sockets[0]!.socket.terminate();
    await until(() => subscribes(gateway!, 1).length === 2, "resubscribed on a new socket");
    expect(subscribes(gateway, 1)).toEqual([
      { type: "subscribe", threadId: "x", after: last.id },
      { type: "subscribe", threadId: "y", after: "7-0" },
    ]);
    gateway.send("x", token("x", ", after"));
    await until(() => result.current?.views.x?.current?.text === "before the drop, after", "x continues");
  });

  it("joins with a snapshot by default; after a drop, a thread still without a position joins again, the others resume", async () => {
    gateway = await startGateway();
    const client = clientFor(gateway);
    const { result, render } = renderHook({ client, backoff: { initialDelayMs: 10, maxDelayMs: 20 } });
    await render(["x", "y"]);
    await until(() => subscribes(gateway!).length === 2, "two subscribes");
    expect(subscribes(gateway)).toEqual([
      { type: "subscribe", threadId: "x", snapshot: true },
      { type: "subscribe", threadId: "y", snapshot: true },
    ]);
    // What the gateway folded from x's log, as one event; then x goes on live.
    const sofar = [token("x", "So "), token("x", "far")];
    const snapshot: ThreadEvent = {
      type: "delta",
      threadId: "x",
      runId: "r1",
      ts: Date.now(),
      id: sofar.at(-1)!.id!,
      content: snapshotContent(sofar.reduce((v, e) => reduceRun(v, e), createReducedRun({ runId: "r1" }))),
    };
    gateway.send("x", snapshot);
    const live = token("x", "!");
    gateway.send("x", live);
    await until(() => result.current?.views.x?.current?.text === "So far!", "x's snapshot and live text");
    gateway.sockets[0]!.socket.terminate();
    await until(() => subscribes(gateway!, 1).length === 2, "resubscribed on a new socket");
    // y's `subscribed` (at "7-0") is no position for a snapshot join: it joins with a snapshot again.
    expect(subscribes(gateway, 1)).toEqual([
      { type: "subscribe", threadId: "x", after: live.id },
      { type: "subscribe", threadId: "y", snapshot: true },
    ]);
  });

  it("reports a refused thread in errors and keeps the others", async () => {
    gateway = await startGateway();
    const client = clientFor(gateway);
    const { result, render } = renderHook({ client });
    await render(["ok", "forbidden-1"]);
    await until(() => result.current?.errors["forbidden-1"] !== undefined, "the refusal");
    expect(result.current?.errors["forbidden-1"]).toEqual({ code: "FORBIDDEN", message: "no" });
    gateway.send("ok", token("ok", "fine"));
    await until(() => result.current?.views.ok?.current?.text === "fine", "ok's text");
  });
});
