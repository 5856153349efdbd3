import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectExactlyOnce } from "./support/expect-exactly-once.js";
import {
  BEARER,
  type FaultStack,
  HEARTBEAT_TIMEOUT_MS,
  readMetrics,
  readThreadLog,
  rssBytes,
  startDemoRun,
  startFaultStack,
} from "./support/fault-stack.js";
import { startResumingClient } from "./support/resuming-client.js";

// One Redis, three gateways (gateway-3 cuts slow consumers off at 64 KiB), one API, one worker.
// Each test injects ONE fault while a resuming client watches a demo run that spans it.
const SLOW_BUFFER_BYTES = 64 * 1024;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    gateways: 3,
    env: { LOG_MAXLEN: "100000" },
    instanceEnv: (kind, i) =>
      kind === "gateway" && i === 3 ? { SSE_MAX_BUFFER_BYTES: String(SLOW_BUFFER_BYTES) } : undefined,
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

/** Publishes `count` big deltas of another run on the thread through the real publish script. */
async function flood(threadId: string, count: number, bytes: number): Promise<void> {
  const redis = createRedisClient({ url: stack.redis.url }, { name: "flood" });
  try {
    const publisher = createEventPublisher(redis, { logMaxLen: 100_000, logTtlSeconds: 600 });
    for (let i = 0; i < count; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          publisher.publish(
            { threadId, runId: "bulk" },
            { type: "delta", content: { kind: "tool_result", n: i + j, data: "x".repeat(bytes) } },
          ),
        ),
      );
    }
  } finally {
    await closeRedisClient(redis);
  }
}

const slowRun = { prompt: "survive the fault", tokensPerSecond: 25, maxTokens: 90 };

describe("gateway faults (real processes, a resuming client)", () => {
  it("1. gateway SIGTERM mid-run: the stream ends cleanly and the client resumes on another gateway", async () => {
    const [gw1, gw2] = stack.gateways;
    const threadId = uniqueId("sigterm");
    const client = startResumingClient({
      urls: [gw1!.url, gw2!.url],
      threadId,
      authorization: BEARER,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    try {
      const runId = await startDemoRun(stack.api.url, threadId, slowRun);
      await client.untilEvents(8, 30_000);
      await gw1!.process.stop(15_000);
      expect(await gw1!.process.exited).toEqual({ code: 0, signal: null });
      const events = await client.untilDone(60_000);
      expectExactlyOnce(events, await readThreadLog(stack.api.url, threadId), runId);
      expect(client.connections[0]).toMatchObject({ url: gw1!.url, end: "ended" });
      expect(client.connections.at(-1)).toMatchObject({ url: gw2!.url, end: "done" });
    } finally {
      client.close();
    }
  }, 120_000);

  it("2. gateway frozen then SIGKILLed mid-run (half-open socket): the client notices by heartbeat timeout and resumes", async () => {
    // SIGKILL on loopback closes the socket at once (the kernel sends FIN/RST), which is fault 1's
    // path. A half-open connection (peer gone, no FIN) is what SIGSTOP leaves: the socket stays
    // up, nothing arrives. The client must notice by the missing heartbeats alone.
    const [, gw2, gw3] = stack.gateways;
    const threadId = uniqueId("halfopen");
    const client = startResumingClient({
      urls: [gw2!.url, gw3!.url],
      threadId,
      authorization: BEARER,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    try {
      const runId = await startDemoRun(stack.api.url, threadId, slowRun);
      await client.untilEvents(8, 30_000);
      process.kill(gw2!.process.pid, "SIGSTOP");
      const frozenAt = Date.now();
      await client.untilEvents(client.events.length + 3, 30_000);
      const detectedAfterMs = Date.now() - frozenAt;
      await gw2!.process.kill("SIGKILL");
      const events = await client.untilDone(60_000);
      expectExactlyOnce(events, await readThreadLog(stack.api.url, threadId), runId);
      expect(client.connections[0]).toMatchObject({ url: gw2!.url, end: "heartbeat_timeout" });
      expect(client.connections.at(-1)).toMatchObject({ url: gw3!.url, end: "done" });
      console.log(
        `half-open gateway detected and resumed in ${detectedAfterMs} ms (timeout ${HEARTBEAT_TIMEOUT_MS} ms)`,
      );
    } finally {
      client.close();
    }
  }, 120_000);

  it("3. CLIENT KILL TYPE pubsub, repeatedly: the gateway resubscribes and backfills from the log", async () => {
    const gw3 = stack.gateways[2]!;
    const threadId = uniqueId("pubsubkill");
    const admin = new Redis(stack.redis.url, { lazyConnect: true });
    await admin.connect();
    const before = (await readMetrics(gw3.url)).value("threadline_gateway_resubscribes_total") ?? 0;
    const client = startResumingClient({
      urls: [gw3.url],
      threadId,
      authorization: BEARER,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    let kills = 0;
    try {
      const runId = await startDemoRun(stack.api.url, threadId, slowRun);
      await client.untilEvents(5, 30_000);
      let done = false;
      const killer = (async () => {
        while (!done) {
          await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
          kills++;
          await new Promise((r) => setTimeout(r, 400));
        }
      })();
      const events = await client.untilDone(60_000).finally(() => {
        done = true;
      });
      await killer;
      expectExactlyOnce(events, await readThreadLog(stack.api.url, threadId), runId);
      expect(kills).toBeGreaterThanOrEqual(3);
      const after = (await readMetrics(gw3.url)).value("threadline_gateway_resubscribes_total") ?? 0;
      expect(after - before).toBeGreaterThanOrEqual(1);
      // The SSE connection itself was never cut: the gateway hid the gaps.
      expect(client.connections).toHaveLength(1);
    } finally {
      client.close();
      admin.disconnect();
    }
  }, 120_000);

  it("7. slow consumer: cut off at SSE_MAX_BUFFER_BYTES, gateway memory bounded, it resumes and catches up", async () => {
    const gw3 = stack.gateways[2]!;
    const threadId = uniqueId("slow");
    const cutoffsBefore =
      (await readMetrics(gw3.url)).value("threadline_gateway_slow_consumer_cutoffs_total") ?? 0;
    const baseline = rssBytes(gw3.process.pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(gw3.process.pid));
    }, 50);
    const client = startResumingClient({
      urls: [gw3.url],
      threadId,
      authorization: BEARER,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      pausedFirst: true,
    });
    try {
      // The demo run shares its thread with a bulk producer: 1,000 × 6 KB tool results (~6 MB; the
      // kernel alone absorbs ~4 MB of a stalled loopback socket before the gateway buffers anything).
      const runId = await startDemoRun(stack.api.url, threadId, slowRun);
      await flood(threadId, 1_000, 6 * 1024);
      const deadline = Date.now() + 60_000;
      while (
        ((await readMetrics(gw3.url)).value("threadline_gateway_slow_consumer_cutoffs_total") ?? 0) <=
        cutoffsBefore
      ) {
        if (Date.now() > deadline) throw new Error("the stalled client was never cut off");
        await new Promise((r) => setTimeout(r, 100));
      }
      client.resumeReading();
      const events = await client.untilDone(90_000);
      clearInterval(sampler);
      expectExactlyOnce(events, await readThreadLog(stack.api.url, threadId), runId);
      expect(client.connections.length).toBeGreaterThanOrEqual(2);
      expect(peak - baseline, "gateway RSS growth").toBeLessThan(48 * 1024 * 1024);
      console.log(
        `slow consumer: ${events.length} events, cut off then caught up over ${client.connections.length} connections; gateway RSS +${((peak - baseline) / 2 ** 20).toFixed(1)} MiB`,
      );
    } finally {
      clearInterval(sampler);
      client.close();
    }
  }, 150_000);
});
