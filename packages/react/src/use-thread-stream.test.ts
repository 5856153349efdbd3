// @vitest-environment happy-dom
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createThreadlineClient, ThreadlineError } from "@threadline/client";
import {
  createReducedRun,
  encodeSse,
  encodeSseRetry,
  reduceRun,
  snapshotContent,
  type ThreadEvent,
} from "@threadline/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { mountHook, unmountHooks, until } from "./test-support/hook-harness.js";
import { type UseThreadStreamOptions, useThreadStream } from "./use-thread-stream.js";

interface Gateway {
  url: string;
  open: Map<string, ServerResponse>;
  /** The URL of every stream request, in order. */
  urls: string[];
  send(threadId: string, event: ThreadEvent): void;
  close(): Promise<void>;
}

/** A real HTTP SSE endpoint: 401 for the token "bad", else a live stream per thread. */
async function startGateway(): Promise<Gateway> {
  const open = new Map<string, ServerResponse>();
  const urls: string[] = [];
  const server = createServer((req, res) => {
    // happy-dom enforces CORS like a browser: the gateway must allow these request headers.
    res.setHeader("access-control-allow-origin", "*");
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "access-control-allow-headers": "authorization, last-event-id, accept" }).end();
      return;
    }
    const threadId = req.url?.split("/")[3] ?? "";
    urls.push(req.url ?? "");
    if (req.headers.authorization === "Bearer bad") {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "UNAUTHORIZED", message: "token rejected" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" }).write(encodeSseRetry(10));
    open.set(threadId, res);
    res.on("close", () => open.delete(threadId));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open,
    urls,
    send: (threadId, event) => open.get(threadId)?.write(encodeSse(event)),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

let gateway: Gateway | undefined;
afterEach(async () => {
  await unmountHooks();
  await gateway?.close();
});

/** Renders the hook in a real React root and exposes its latest result. */
const renderHook = (options: UseThreadStreamOptions) =>
  mountHook((threadId: string) => useThreadStream(threadId, options));

let seq = 0;
const token = (threadId: string, content: string): ThreadEvent => {
  seq += 1;
  return { type: "token", threadId, runId: "r1", seq, ts: Date.now(), id: `${seq}-0`, content };
};

describe("useThreadStream", () => {
  it("renders the streamed run and the connection state", async () => {
    gateway = await startGateway();
    const client = createThreadlineClient({
      apiUrl: gateway.url,
      gatewayUrl: gateway.url,
      getToken: () => "ok",
    });
    const { result, render } = renderHook({ client });
    await render("t1");
    await until(() => result.current?.state === "live", "live");
    gateway.send("t1", token("t1", "Hello"));
    gateway.send("t1", token("t1", ", world"));
    gateway.send("t1", {
      type: "done",
      threadId: "t1",
      runId: "r1",
      seq: ++seq,
      ts: Date.now(),
      id: `${seq}-0`,
      content: { finishReason: "stop" },
    });
    await until(() => result.current?.view.current?.finished === true, "done");
    expect(result.current?.view.current?.text).toBe("Hello, world");
    expect(result.current?.error).toBeUndefined();
  });

  it("joins with a snapshot by default: a run in progress renders from one event, then goes on live", async () => {
    gateway = await startGateway();
    const client = createThreadlineClient({
      apiUrl: gateway.url,
      gatewayUrl: gateway.url,
      getToken: () => "ok",
    });
    const { result, render } = renderHook({ client });
    await render("t1");
    await until(() => gateway!.open.has("t1"), "stream");
    expect(gateway.urls).toEqual(["/v1/threads/t1/events?snapshot=1"]);
    // What the gateway folded from the log: 3 tokens of run r1.
    const sofar = ["So ", "far ", "so good"]
      .map((text, i) => ({ ...token("t1", text), seq: i + 1 }))
      .reduce((view, event) => reduceRun(view, event), createReducedRun({ runId: "r1" }));
    gateway.send("t1", {
      type: "delta",
      threadId: "t1",
      runId: "r1",
      ts: Date.now(),
      id: "3-0",
      content: snapshotContent(sofar),
    });
    gateway.send("t1", { ...token("t1", "!"), seq: 4, id: "4-0" });
    await until(() => result.current?.view.current?.text === "So far so good!", "snapshot + live text");
    expect(result.current?.view.current).toMatchObject({ runId: "r1", lastSeq: 4, eventCount: 4 });
  });

  it("switches threads (fresh view, new connection) and disconnects on unmount", async () => {
    gateway = await startGateway();
    const client = createThreadlineClient({
      apiUrl: gateway.url,
      gatewayUrl: gateway.url,
      getToken: () => "ok",
    });
    const { result, render, unmount } = renderHook({ client });
    await render("a");
    await until(() => gateway!.open.has("a"), "stream a");
    gateway.send("a", token("a", "from a"));
    await until(() => result.current?.view.current?.text === "from a", "a's text");
    await render("b");
    await until(() => gateway!.open.has("b") && !gateway!.open.has("a"), "a closed, b open");
    expect(result.current?.view.runIds).toEqual([]);
    gateway.send("b", token("b", "from b"));
    await until(() => result.current?.view.current?.text === "from b", "b's text");
    await unmount();
    await until(() => gateway!.open.size === 0, "no open stream after unmount");
  });

  it("reports a fatal error and a closed state", async () => {
    gateway = await startGateway();
    const client = createThreadlineClient({
      apiUrl: gateway.url,
      gatewayUrl: gateway.url,
      getToken: () => "bad",
    });
    const { result, render } = renderHook({ client });
    await render("t1");
    await until(() => result.current?.error !== undefined, "the error");
    expect(result.current?.error).toBeInstanceOf(ThreadlineError);
    expect(result.current?.error).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(result.current?.state).toBe("closed");
  });
});
