import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createThreadlineClient } from "./threadline-client.js";
import { ThreadlineError } from "./threadline-error.js";

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
});

async function api(reply: (req: IncomingMessage) => { status: number; body: string; type?: string }) {
  const seen: Seen[] = [];
  server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization, body });
    const { status, body: out, type } = reply(req);
    res.writeHead(status, { "content-type": type ?? "application/json" }).end(out);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createThreadlineClient({ apiUrl: `${url}/`, gatewayUrl: url, getToken: () => "jwt-1" });
  return { client, seen };
}

const run = {
  runId: "r1",
  threadId: "t1",
  agent: "demo",
  status: "running",
  createdAt: "2026-01-01T00:00:00.000Z",
  attempts: 1,
};

describe("createThreadlineClient", () => {
  it("creates, reads, lists and cancels runs with the bearer token", async () => {
    const { client, seen } = await api((req) => {
      if (req.method === "POST" && req.url?.endsWith("/cancel")) {
        return { status: 202, body: JSON.stringify({ runId: "r1", threadId: "t1", status: "cancelling" }) };
      }
      if (req.method === "POST") {
        const created = { runId: "r1", threadId: "t1", status: "queued", eventsUrl: "/v1/threads/t1/events" };
        return { status: 202, body: JSON.stringify(created) };
      }
      if (req.url === "/v1/threads/t1/runs?limit=5")
        return { status: 200, body: JSON.stringify({ runs: [run] }) };
      return { status: 200, body: JSON.stringify(run) };
    });
    await expect(client.runs.create("t1", { agent: "demo", input: { prompt: "hi" } })).resolves.toMatchObject(
      {
        runId: "r1",
        status: "queued",
      },
    );
    await expect(client.runs.get("t1", "r1")).resolves.toMatchObject({ status: "running", attempts: 1 });
    await expect(client.runs.list("t1", { limit: 5 })).resolves.toHaveLength(1);
    await expect(client.runs.cancel("t1", "r1")).resolves.toMatchObject({ status: "cancelling" });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "POST /v1/threads/t1/runs",
      "GET /v1/threads/t1/runs/r1",
      "GET /v1/threads/t1/runs?limit=5",
      "POST /v1/threads/t1/runs/r1/cancel",
    ]);
    expect(JSON.parse(seen[0]!.body)).toEqual({ agent: "demo", input: { prompt: "hi" } });
    expect(seen.every((s) => s.auth === "Bearer jwt-1")).toBe(true);
  });

  it("reads history pages with typed events", async () => {
    const event = { type: "token", threadId: "t1", runId: "r1", seq: 1, ts: 5, id: "5-0", content: "x" };
    const { client, seen } = await api(() => ({
      status: 200,
      body: JSON.stringify({ events: [event], nextAfter: "5-0", truncated: false, more: false }),
    }));
    const page = await client.thread("t1").history({ after: "4-0", limit: 10 });
    expect(page.events).toEqual([event]);
    expect(page.nextAfter).toBe("5-0");
    expect(seen[0]?.url).toBe("/v1/threads/t1/events?after=4-0&limit=10");
  });

  it("lists the caller's threads by cursor and reads a thread as a conversation", async () => {
    const thread = {
      threadId: "t1",
      lastRunId: "r1",
      lastStatus: "completed",
      updatedAt: "2026-01-01T00:00:00.000Z",
      preview: "hi",
    };
    const messages = [
      { runId: "r1", role: "user", content: "hi" },
      { runId: "r1", role: "assistant", content: "hello", toolCalls: [{ name: "clock" }] },
    ];
    const { client, seen } = await api((req) =>
      req.url?.endsWith("/messages")
        ? { status: 200, body: JSON.stringify({ messages }) }
        : { status: 200, body: JSON.stringify({ threads: [thread], nextCursor: "c2" }) },
    );
    await expect(client.threads.list({ limit: 1, cursor: "c1" })).resolves.toEqual({
      threads: [thread],
      nextCursor: "c2",
    });
    await expect(client.threads.list()).resolves.toMatchObject({ nextCursor: "c2" });
    await expect(client.thread("t/1").messages()).resolves.toEqual({ messages });
    expect(seen.map((s) => s.url)).toEqual([
      "/v1/threads?limit=1&cursor=c1",
      "/v1/threads",
      "/v1/threads/t%2F1/messages",
    ]);
  });

  it("turns an error body into a ThreadlineError with status, code, message and details", async () => {
    const { client } = await api(() => ({
      status: 400,
      body: JSON.stringify({
        error: { code: "INVALID_BODY", message: "input is required", details: [{ path: "input" }] },
      }),
    }));
    const error = await client.runs.create("t1", { input: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThreadlineError);
    expect(error).toMatchObject({
      status: 400,
      code: "INVALID_BODY",
      message: "input is required",
      details: [{ path: "input" }],
    });
  });

  it("retries a 401 once with a fresh token, then reports it", async () => {
    const { seen } = await api((req) =>
      req.headers.authorization === "Bearer fresh"
        ? { status: 200, body: JSON.stringify(run) }
        : { status: 401, body: JSON.stringify({ error: { code: "TOKEN_EXPIRED", message: "jwt expired" } }) },
    );
    const reasons: string[] = [];
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
    const client = createThreadlineClient({
      apiUrl: url,
      gatewayUrl: url,
      getToken: ({ reason }) => {
        reasons.push(reason);
        return reason === "expired" ? "fresh" : "stale";
      },
    });
    await expect(client.runs.get("t1", "r1")).resolves.toMatchObject({ runId: "r1" });
    expect(reasons).toEqual(["initial", "expired"]);
    const refusing = createThreadlineClient({ apiUrl: url, gatewayUrl: url, getToken: () => "stale" });
    await expect(refusing.runs.get("t1", "r1")).rejects.toMatchObject({ status: 401, code: "TOKEN_EXPIRED" });
    expect(seen.map((s) => s.auth)).toEqual(["Bearer stale", "Bearer fresh", "Bearer stale", "Bearer stale"]);
  });

  it("still gives a typed error when a proxy answers with HTML", async () => {
    const { client } = await api(() => ({
      status: 502,
      body: "<html>Bad Gateway</html>",
      type: "text/html",
    }));
    await expect(client.runs.get("t1", "r1")).rejects.toMatchObject({
      status: 502,
      code: "HTTP_502",
      message: expect.stringContaining("Bad Gateway"),
    });
  });

  it("rejects a response that breaks the contract", async () => {
    const { client } = await api(() => ({ status: 200, body: JSON.stringify({ runId: "r1" }) }));
    await expect(client.runs.get("t1", "r1")).rejects.toMatchObject({ code: "BAD_RESPONSE" });
  });
});
