import http from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "@threadline/testing";
import { afterEach, describe, expect, it } from "vitest";
import { CliError } from "./cli-error.js";
import { type TailMessage, type TailNotice, tailStream } from "./tail-stream.js";

// A real HTTP server speaking SSE, scripted per connection: the reconnect logic is exercised over sockets.
type Script = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let server: http.Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function serve(scripts: Script[]): Promise<{ url: string; requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = [];
  const created = http.createServer((req, res) => {
    requests.push(req);
    const script = scripts[requests.length - 1];
    if (!script) return res.writeHead(503).end();
    script(req, res);
  });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(created.address() as AddressInfo).port}`, requests };
}

const sse = (res: http.ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream" });
// Protocol 2 framing: a run's error is `run-error`, the gateway's notices (no id) are `stream-error`.
const frameName = (type: string, id?: string) =>
  type !== "error" ? type : id ? "run-error" : "stream-error";
const frame = (type: string, data: object, id?: string) =>
  `${id ? `id: ${id}\n` : ""}event: ${frameName(type, id)}\ndata: ${JSON.stringify({ type, threadId: "t", ts: 1, ...data })}\n\n`;

async function collect(options: Partial<Parameters<typeof tailStream>[0]> & { gatewayUrl: string }) {
  const messages: TailMessage[] = [];
  const notices: TailNotice[] = [];
  let tokens = 0;
  for await (const message of tailStream({
    threadId: "t",
    getToken: () => `token-${++tokens}`,
    fromStart: false,
    untilDone: true,
    signal: new AbortController().signal,
    onNotice: (n) => notices.push(n),
    ...options,
  })) {
    messages.push(message);
  }
  return { messages, notices, tokens };
}

describe("tailStream", () => {
  it("reconnects after the server closes, resumes with Last-Event-ID, re-mints the token on TOKEN_EXPIRED", async () => {
    const { url, requests } = await serve([
      (_req, res) => {
        sse(res);
        res.end(
          `retry: 20\n\n${frame("token", { content: "a" }, "1-0")}${frame("token", { content: "b" }, "2-0")}`,
        );
      },
      (_req, res) => {
        sse(res);
        res.end(frame("error", { content: { code: "TOKEN_EXPIRED", message: "expired", retryable: true } }));
      },
      (_req, res) => {
        sse(res);
        res.write(frame("done", { content: { finishReason: "stop" } }, "3-0"));
      },
    ]);
    const { messages, notices, tokens } = await collect({ gatewayUrl: url, fromStart: true });
    expect(messages.map((m) => [m.id, m.event])).toEqual([
      ["1-0", "token"],
      ["2-0", "token"],
      ["3-0", "done"],
    ]);
    expect(requests.map((r) => [r.url, r.headers["last-event-id"], r.headers.authorization])).toEqual([
      ["/v1/threads/t/events?until=done&after=0", undefined, "Bearer token-1"],
      ["/v1/threads/t/events?until=done", "2-0", "Bearer token-2"],
      ["/v1/threads/t/events?until=done", "2-0", "Bearer token-3"],
    ]);
    expect(tokens).toBe(3);
    expect(
      notices.map((n) => (n.type === "connected" ? `connected ${n.resumedAfter}` : `${n.reason}`)),
    ).toEqual([
      "connected undefined",
      "server closed the stream",
      "connected 2-0",
      "token expired",
      "connected 2-0",
    ]);
    const expired = notices[3];
    expect(expired?.type === "reconnecting" && expired.delayMs).toBe(0);
  });

  it("passes REPLAY_TRUNCATED through and keeps going until the run's end", async () => {
    const { url } = await serve([
      (_req, res) => {
        sse(res);
        res.write(
          frame("error", { content: { code: "REPLAY_TRUNCATED", message: "gap", retryable: false } }),
        );
        res.write(frame("token", { content: "x" }, "5-0"));
        res.write(
          frame(
            "error",
            { runId: "r", content: { code: "AGENT_FAILED", message: "boom", retryable: false } },
            "6-0",
          ),
        );
      },
    ]);
    const { messages } = await collect({ gatewayUrl: url });
    expect(messages.map((m) => m.event)).toEqual(["stream-error", "token", "run-error"]);
  });

  it("fails with one line on 401/403 and when the gateway is unreachable", async () => {
    const refuse: Script = (_req, res) =>
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(
          JSON.stringify({ error: { code: "TOKEN_INVALID", message: "token signature is not accepted" } }),
        );
    // The client asks for a fresh token once after a 401 (a cached one may have expired), then gives up.
    const { url, requests } = await serve([refuse, refuse]);
    await expect(collect({ gatewayUrl: url })).rejects.toThrow(
      new CliError("gateway 401: TOKEN_INVALID: token signature is not accepted"),
    );
    expect(requests.map((r) => r.headers.authorization)).toEqual(["Bearer token-1", "Bearer token-2"]);
    const closed = await freePort();
    await expect(collect({ gatewayUrl: `http://127.0.0.1:${closed}` })).rejects.toThrow(
      `cannot reach the gateway at http://127.0.0.1:${closed} (ECONNREFUSED); is it running? set THREADLINE_GATEWAY_URL`,
    );
  });

  it("waits out a Retry-After given as an HTTP date (as well as in seconds)", async () => {
    const { url, requests } = await serve([
      (_req, res) =>
        res
          .writeHead(503, {
            "content-type": "application/json",
            "retry-after": new Date(Date.now() + 3_000).toUTCString(),
          })
          .end(JSON.stringify({ error: { code: "TOO_MANY_CONNECTIONS", message: "gateway is full" } })),
      (_req, res) => {
        sse(res);
        res.write(frame("done", { content: { finishReason: "stop" } }, "1-0"));
      },
    ]);
    const started = Date.now();
    const { messages, notices } = await collect({ gatewayUrl: url });
    expect(messages.map((m) => m.event)).toEqual(["done"]);
    const waited = notices.find((n) => n.type === "reconnecting");
    expect(waited?.type === "reconnecting" && waited.reason).toBe(
      "gateway 503: TOO_MANY_CONNECTIONS: gateway is full",
    );
    // An HTTP date has whole seconds: 3 s ahead is 2-3 s away.
    expect(waited?.type === "reconnecting" && waited.delayMs).toBeGreaterThanOrEqual(1_900);
    expect(requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });
});
