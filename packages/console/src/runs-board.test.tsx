// @vitest-environment happy-dom
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createThreadlineClient } from "@threadline/client";
import { encodeWsEvent, type ThreadEvent } from "@threadline/protocol";
import { act, createElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { RunsBoard } from "./runs-board.js";

beforeAll(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
});

let root: Root | undefined;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await act(async () => root?.unmount());
  root = undefined;
  await close?.();
});

/** A real WebSocket endpoint speaking the gateway's /v1/ws frames; FORBIDDEN for "theirs". */
async function startGateway() {
  const server = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server, path: "/v1/ws" });
  const sockets: WebSocket[] = [];
  const byThread = new Map<string, WebSocket>();
  wss.on("connection", (socket) => {
    sockets.push(socket);
    socket.on("message", (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; threadId: string };
      if (m.type !== "subscribe") return;
      if (m.threadId === "theirs") {
        socket.send(
          JSON.stringify({ type: "error", code: "FORBIDDEN", message: "no", threadId: m.threadId }),
        );
        return;
      }
      byThread.set(m.threadId, socket);
      socket.send(JSON.stringify({ type: "subscribed", threadId: m.threadId, after: "0" }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(undefined)));
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    send: (event: ThreadEvent) => byThread.get(event.threadId)?.send(encodeWsEvent(JSON.stringify(event))),
  };
}

async function until(condition: () => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 10));
    });
  }
}

describe("RunsBoard", () => {
  it("shows every thread's latest run over ONE socket, and a refused thread's code", async () => {
    const gateway = await startGateway();
    const client = createThreadlineClient({
      apiUrl: gateway.url,
      gatewayUrl: gateway.url,
      getToken: () => "t",
    });
    const host = document.createElement("div");
    root = createRoot(host);
    const opened: string[] = [];
    await act(async () =>
      root!.render(
        createElement(RunsBoard, {
          client,
          threads: ["a", "b", "theirs"],
          current: "a",
          enabled: true,
          onOpen: (id: string) => opened.push(id),
          onRemove: () => {},
        }),
      ),
    );
    const status = (t: string) => host.querySelector(`[data-thread="${t}"]`)?.textContent;
    await until(() => status("theirs") === "FORBIDDEN", "the refusal");
    const base = { runId: "r1", ts: Date.now() };
    gateway.send({
      ...base,
      type: "status",
      threadId: "a",
      seq: 1,
      id: "1-0",
      content: { state: "running" },
    });
    gateway.send({ ...base, type: "token", threadId: "b", seq: 1, id: "2-0", content: "hello from b" });
    gateway.send({
      ...base,
      type: "done",
      threadId: "b",
      seq: 2,
      id: "3-0",
      content: { finishReason: "stop" },
    });
    await until(() => status("a") === "running" && status("b") === "completed", "both statuses");
    expect(host.textContent).toContain("hello from b");
    expect(host.querySelector("#board-state")?.textContent).toBe("live");
    expect(gateway.sockets).toHaveLength(1);
    (host.querySelector(".board-card-open") as HTMLButtonElement).click();
    expect(opened).toEqual(["a"]);
  });
});
