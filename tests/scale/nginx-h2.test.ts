import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { createEventPublisher, createRedisClient, type RedisClient, readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";

// HTTP/2 at the edge (issue 19 item 5): nginx with the self-signed certificate `pnpm topology --tls`
// makes, in front of two gateways; every client below speaks to nginx only.
let topology: Topology;
let redis: RedisClient;
let ca: Buffer;
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "h2", threads: ["*"] });

beforeAll(async () => {
  topology = await startTopology({
    gateways: 2,
    apis: 1,
    // Six tsx processes starting at once on a loaded 2-core box.
    readyTimeoutMs: 150_000,
    workers: 1,
    tls: true,
    envFor: { gateway: { HEARTBEAT_INTERVAL_MS: "500" } },
  });
  ca = readFileSync(topology.nginx!.certPath!);
  redis = createRedisClient({ url: topology.redisEnv.REDIS_URL! }, { name: "h2-test" });
}, 240_000);

afterAll(async () => {
  redis?.disconnect();
  await topology?.stop();
}, 60_000);

const httpsUrl = () => topology.nginx!.httpsUrl!;

async function publish(threadId: string, tokens: number, done = true) {
  const p = createEventPublisher(redis, { logMaxLen: 10_000, logTtlSeconds: 600 });
  for (let i = 1; i <= tokens; i++)
    await p.publish({ threadId, runId: "r" }, { type: "token", content: `t${i}` });
  if (done) await p.publish({ threadId, runId: "r" }, { type: "done", content: { finishReason: "stop" } });
}
const logOf = async (threadId: string) =>
  (await readLog(redis, threadId, "0", 10_000)).entries.map((e) => e.json);

/** One SSE stream as an HTTP/2 stream of `session`. */
function h2Sse(session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}) {
  const events: EventSourceMessage[] = [];
  const req = session.request({
    ":path": path,
    accept: "text/event-stream",
    authorization: `Bearer ${TOKEN}`,
    ...headers,
  });
  const parser = createParser({ onEvent: (e) => events.push(e) });
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => parser.feed(chunk));
  const response = new Promise<http2.IncomingHttpHeaders>((resolve) => req.once("response", resolve));
  const ended = new Promise<void>((resolve) => req.once("close", () => resolve()));
  return { events, response, ended, close: () => req.close() };
}

describe("HTTP/2 over TLS at nginx", () => {
  it("negotiates h2 (curl --http2 -k) and streams SSE through it", async () => {
    const health = execFileSync("curl", [
      "--http2",
      "-k",
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_version}",
      `${httpsUrl()}/nginx-health`,
    ]).toString();
    expect(health).toBe("2");
    const threadId = uniqueId("h2curl");
    const curl = spawn("curl", [
      "--http2",
      "-k",
      "-sS",
      "-N",
      "--max-time",
      "30",
      "-w",
      "\nhttp_version=%{http_version}\n",
      "-H",
      `authorization: Bearer ${TOKEN}`,
      `${httpsUrl()}/v1/threads/${threadId}/events?until=done`,
    ]);
    let out = "";
    curl.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => curl.once("exit", resolve));
    // The response starts once the subscription is live (its `retry:` line); then publish.
    const deadline = Date.now() + 20_000;
    while (!out.includes("retry:") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await publish(threadId, 3);
    expect(await exited).toBe(0);
    const data = out
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => l.slice(6));
    expect(data).toEqual(await logOf(threadId));
    expect(out).toContain("http_version=2");
  });

  it("carries 20 SSE streams on ONE HTTP/2 connection, each complete and resumable with Last-Event-ID", {
    timeout: 60_000,
  }, async () => {
    const session = http2.connect(httpsUrl(), { ca });
    try {
      const threads = Array.from({ length: 20 }, () => uniqueId("h2"));
      const streams = threads.map((t) => h2Sse(session, `/v1/threads/${t}/events?after=0&until=done`));
      for (const s of streams) expect((await s.response)[":status"]).toBe(200);
      await Promise.all(threads.map((t) => publish(t, 10)));
      await Promise.all(streams.map((s) => s.ended));
      for (const [i, t] of threads.entries())
        expect(streams[i]!.events.map((e) => e.data)).toEqual(await logOf(t));

      // Resume one of them from its 4th event over the same connection.
      const resumed = h2Sse(session, `/v1/threads/${threads[0]}/events?until=done`, {
        "last-event-id": streams[0]!.events[3]!.id!,
      });
      await resumed.ended;
      expect(resumed.events.map((e) => e.data)).toEqual((await logOf(threads[0]!)).slice(4));
    } finally {
      session.close();
    }
  });

  it("serves the multiplexed SSE route over h2 and resumes it from the position vector", async () => {
    const session = http2.connect(httpsUrl(), { ca });
    try {
      const threads = [uniqueId("mx"), uniqueId("mx")];
      const path = `/v1/events?threads=${threads.join(",")}`;
      const first = h2Sse(session, path);
      expect((await first.response)[":status"]).toBe(200);
      await publish(threads[0]!, 3, false);
      await publish(threads[1]!, 2, false);
      const deadline = Date.now() + 10_000;
      while (first.events.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      first.close();
      const vector = first.events.at(-1)!.id!;
      await publish(threads[0]!, 2);
      await publish(threads[1]!, 1);
      const resumed = h2Sse(session, `${path}&until=done`, { "last-event-id": vector });
      await resumed.ended;
      const of = (t: string) => resumed.events.map((e) => e.data).filter((d) => JSON.parse(d).threadId === t);
      expect(of(threads[0]!)).toEqual((await logOf(threads[0]!)).slice(3));
      expect(of(threads[1]!)).toEqual((await logOf(threads[1]!)).slice(2));
    } finally {
      session.close();
    }
  });

  it("upgrades GET /v1/ws through nginx over TLS (wss://)", async () => {
    const threadId = uniqueId("wss");
    const socket = new WebSocket(`${httpsUrl().replace("https", "wss")}/v1/ws?access_token=${TOKEN}`, { ca });
    const frames: { type: string }[] = [];
    socket.on("message", (data: Buffer) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    socket.send(JSON.stringify({ type: "subscribe", threadId, after: "0" }));
    await publish(threadId, 3);
    const deadline = Date.now() + 10_000;
    while (frames.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    socket.terminate();
    expect(frames.map((f) => f.type)).toEqual(["subscribed", "event", "event", "event", "event"]);
  });
});
