import { uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";
import { expectCompleteRun } from "./expect-complete.js";
import {
  followUntilDone,
  openThread,
  readThreadLog,
  received,
  sawDone,
  startDemoRun,
  TOKEN,
} from "./run-client.js";

const HEARTBEAT_MS = 500;
let topology: Topology;

beforeAll(async () => {
  topology = await startTopology({
    gateways: 2,
    apis: 2,
    workers: 2,
    envFor: {
      gateway: { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) },
      api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" },
      worker: { WORKER_CONCURRENCY: "16" },
    },
  });
}, 120_000);

afterAll(async () => {
  await topology?.stop();
}, 60_000);

describe("through nginx: 2 gateways, 2 APIs, 2 workers", () => {
  it("streams 20 concurrent demo runs on 20 threads completely to their clients", async () => {
    const threads = Array.from({ length: 20 }, () => uniqueId("scale"));
    // The 200 of an SSE response means the subscription is live: open every stream, then start the runs.
    const streams = await Promise.all(threads.map((t) => openThread(topology.url, t)));
    const runIds = await Promise.all(
      threads.map((t, i) =>
        startDemoRun(topology.url, t, { prompt: `run ${i}`, tokensPerSecond: 200, maxTokens: 30 }),
      ),
    );
    await Promise.all(streams.map((s) => s.waitFor(sawDone, 30_000)));
    for (const s of streams) s.close();

    for (const [i, threadId] of threads.entries()) {
      expectCompleteRun(received(streams[i]!), await readThreadLog(topology.url, threadId), runIds[i]!);
    }
    // least_conn spread the streams: both gateways served some.
    const served = await Promise.all(topology.gateways.map((g) => deliveredTotal(g.url)));
    expect(
      served.every((n) => n > 0),
      `events delivered per gateway: ${served}`,
    ).toBe(true);
  });

  it("passes heartbeats through at the configured interval, unbuffered", async () => {
    const conn = await openThread(topology.url, uniqueId("idle"));
    const arrivals: number[] = [];
    await conn.waitFor((c) => {
      while (arrivals.length < c.comments.length) arrivals.push(Date.now());
      return c.comments.length >= 5;
    }, 10 * HEARTBEAT_MS);
    conn.close();
    expect(conn.comments.slice(0, 5)).toEqual(Array(5).fill("keepalive"));
    expect(conn.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(conn.headers["content-encoding"]).toBeUndefined();
    // Buffered, they would not arrive at all before the buffer fills (13 bytes each), or in a burst
    // (gaps near 0). A loaded 2-core machine may delay one timer: judge the median, bound each gap.
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)]!;
    expect(median, `heartbeat gaps ${gaps.join(", ")} ms`).toBeGreaterThan(HEARTBEAT_MS * 0.7);
    expect(median, `heartbeat gaps ${gaps.join(", ")} ms`).toBeLessThan(HEARTBEAT_MS * 1.5);
    for (const gap of gaps)
      expect(gap, `heartbeat gaps ${gaps.join(", ")} ms`).toBeGreaterThan(HEARTBEAT_MS * 0.3);
  });

  it("keeps X-Request-Id, or makes one, and refuses a body over 1 MiB with the API's JSON error", async () => {
    const given = await fetch(`${topology.url}/healthz`, { headers: { "x-request-id": "req-abc" } });
    expect(given.headers.get("x-request-id")).toBe("req-abc");
    const made = await fetch(`${topology.url}/healthz`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f]{32}$/);
    const big = await fetch(`${topology.url}/v1/threads/t/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { prompt: "x".repeat(1024 * 1024 + 10) } }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: "BODY_TOO_LARGE" } });
  });

  it("an external run: created and published through nginx (APIs), streamed through nginx (gateways)", async () => {
    const threadId = uniqueId("ext");
    const stream = await openThread(topology.url, threadId, "?after=0&until=done");
    const created = await fetch(`${topology.url}/v1/threads/${threadId}/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ runner: "external" }),
    });
    expect(created.status).toBe(202);
    const run = (await created.json()) as { publishUrl: string; publishToken: string };
    const events = [
      ...Array.from({ length: 20 }, (_, i) => ({ type: "token", content: `w${i} `, idempotencyKey: `${i}` })),
      { type: "done", content: { finishReason: "stop" }, idempotencyKey: "end" },
    ];
    const published = await fetch(`${topology.url}${run.publishUrl}`, {
      method: "POST",
      headers: { authorization: `Bearer ${run.publishToken}`, "content-type": "application/json" },
      body: JSON.stringify(events),
    });
    expect(published.status).toBe(200);
    expect(((await published.json()) as { events: unknown[] }).events).toHaveLength(21);
    await stream.ended;
    expect(stream.events.map((e) => e.data)).toEqual(
      (await readThreadLog(topology.url, threadId)).map((e) => JSON.stringify(e)),
    );
  });

  it("SIGKILL of a gateway mid-run: its clients resume through nginx on the other, nothing lost or duplicated", async () => {
    const threads = Array.from({ length: 8 }, () => uniqueId("kill"));
    const firsts = await Promise.all(threads.map((t) => openThread(topology.url, t)));
    const runIds = await Promise.all(
      threads.map((t, i) =>
        startDemoRun(topology.url, t, { prompt: `kill ${i}`, tokensPerSecond: 40, maxTokens: 100 }),
      ),
    );
    // Mid-run: every client has seen some tokens, none has seen done.
    await Promise.all(firsts.map((s) => s.waitFor((c) => c.events.length >= 8, 15_000)));
    expect(firsts.filter(sawDone).length, "runs already finished at the kill").toBeLessThan(
      threads.length / 2,
    );
    const victim = topology.gateways[0]!;
    await victim.process.kill("SIGKILL");

    const followed = await Promise.all(firsts.map((s) => followUntilDone(s, 40_000)));
    const cut = followed.filter((connections) => connections.length > 1).length;
    expect(cut, "clients whose stream was on the killed gateway").toBeGreaterThan(0);
    for (const [i, threadId] of threads.entries()) {
      expectCompleteRun(received(...followed[i]!), await readThreadLog(topology.url, threadId), runIds[i]!);
    }
  });
});

async function deliveredTotal(gatewayUrl: string): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("threadline_gateway_events_delivered_total"));
  return Number(line?.split(" ").at(-1) ?? 0);
}
