import { rmSync } from "node:fs";
import { join } from "node:path";
import { uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectExactlyOnce } from "./support/expect-exactly-once.js";
import {
  BEARER,
  type FaultStack,
  HEARTBEAT_TIMEOUT_MS,
  readRun,
  readThreadLog,
  startDemoRun,
  startFaultStack,
} from "./support/fault-stack.js";
import { type ReceivedEvent, startResumingClient } from "./support/resuming-client.js";

// One Redis with AOF (appendfsync always), one gateway, one API, two workers. Each test injects ONE
// fault while a resuming client watches a demo run that spans it.
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ appendOnly: true, workers: 2 });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

const slowRun = { prompt: "survive the fault", tokensPerSecond: 25, maxTokens: 90 };

function watch(threadId: string) {
  return startResumingClient({
    urls: [stack.gateways[0]!.url],
    threadId,
    authorization: BEARER,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
  });
}

/** Resolves with the time the next event arrives (after `from` events). */
async function nextEventAt(client: ReturnType<typeof watch>, from: number): Promise<number> {
  await client.untilEvents(from + 1, 60_000);
  return Date.now();
}

describe("worker and Redis faults (real processes, a resuming client)", () => {
  it("6. worker SIGKILL mid-run: the stalled job is retried by the other worker (status retrying), seq stays gap-free", async () => {
    const threadId = uniqueId("workerkill");
    const client = watch(threadId);
    try {
      const runId = await startDemoRun(stack.api.url, threadId, slowRun);
      await client.untilEvents(8, 30_000);
      const states = client.events.filter((e) => e.type === "status").map((e) => e.content);
      expect(states).toContainEqual(expect.objectContaining({ state: "running", attempt: 1 }));
      // Whichever worker holds the run dies; the other one takes the stalled job over.
      const holders = await Promise.all(
        stack.workers.map(async (w) => {
          const metrics = await (await fetch(`${w.url}/metrics`)).text();
          return /threadline_worker_active_runs(?:\{[^}]*\})? 1\b/.test(metrics);
        }),
      );
      const victim = stack.workers[holders.indexOf(true)] ?? stack.workers[0]!;
      await victim.process.kill("SIGKILL");
      const events = await client.untilDone(60_000);
      expectExactlyOnce(events, await readThreadLog(stack.api.url, threadId), runId);
      expect(events.filter((e) => e.type === "status").map((e) => e.content)).toContainEqual(
        expect.objectContaining({ state: "retrying", attempt: 2 }),
      );
      expect(await readRun(stack.api.url, threadId, runId)).toMatchObject({
        status: "completed",
        attempts: 2,
      });
    } finally {
      client.close();
    }
  }, 120_000);

  it("4. Redis crash + restart with AOF mid-run: every service reconnects by itself, the run completes, the log survives", async () => {
    const threadId = uniqueId("aof");
    const client = watch(threadId);
    try {
      const runId = await startDemoRun(stack.api.url, threadId, slowRun);
      await client.untilEvents(8, 30_000);
      const seen = client.events.length;
      await stack.redis.stop(true); // SIGKILL: a crash, not a clean shutdown
      await new Promise((r) => setTimeout(r, 1_000));
      const upAt = Date.now();
      await stack.redis.start();
      const recoveredAt = await nextEventAt(client, seen);
      const events = await client.untilDone(60_000);
      expectExactlyOnce(events, await readThreadLog(stack.api.url, threadId), runId);
      expect(client.connections, "the SSE connection outlived the Redis restart").toHaveLength(1);
      const alive = stack.workers.filter((w) => w.process.alive());
      for (const service of [stack.api, ...stack.gateways, ...alive]) {
        expect((await fetch(`${service.url}/readyz`)).status, `${service.name} ready again`).toBe(200);
      }
      console.log(
        `Redis restart with AOF: first event ${recoveredAt - upAt} ms after redis-server was started again`,
      );
    } finally {
      client.close();
    }
  }, 120_000);

  it("5. Redis restart WITHOUT its data mid-run: the client is told REPLAY_TRUNCATED, never a silent gap", async () => {
    const threadId = uniqueId("nopersist");
    const client = watch(threadId);
    try {
      await startDemoRun(stack.api.url, threadId, slowRun);
      await client.untilEvents(8, 30_000);
      // A Redis without persistence comes back empty: the same server, its AOF removed while down.
      await stack.redis.stop(true);
      rmSync(join(stack.redis.dir, "appendonlydir"), { recursive: true, force: true });
      await stack.redis.start();
      await expect
        .poll(() => client.events.some(isTruncation), {
          timeout: 60_000,
          interval: 50,
          message: "REPLAY_TRUNCATED",
        })
        .toBe(true);
      const finished = await client.untilDone(30_000).then(
        () => true,
        () => false,
      );
      expectNoSilentGap(client.events);
      console.log(
        `Redis restart without data: told REPLAY_TRUNCATED ${client.events.filter(isTruncation).length}×, run ${finished ? "reached done" : "did not reach done (its job was lost with the data)"}; ${client.events.length} events`,
      );
    } finally {
      client.close();
    }
  }, 120_000);
});

const isTruncation = (e: ReceivedEvent) =>
  e.type === "error" && (e.content as { code?: string }).code === "REPLAY_TRUNCATED";

/** Between two run events, seq goes up by exactly 1 — unless a REPLAY_TRUNCATED came in between. */
function expectNoSilentGap(events: ReceivedEvent[]): void {
  let prev: number | undefined;
  let told = false;
  for (const e of events) {
    if (isTruncation(e)) told = true;
    if (e.seq === undefined) continue;
    if (prev !== undefined && e.seq !== prev + 1) {
      expect(told, `seq ${prev} → ${e.seq} without REPLAY_TRUNCATED`).toBe(true);
    }
    prev = e.seq;
    told = false;
  }
  const ids = events.flatMap((e) => (e.id ? [e.id] : []));
  expect(new Set(ids).size, "no event delivered twice").toBe(ids.length);
}
