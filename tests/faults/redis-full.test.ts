import { uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BEARER,
  type FaultStack,
  HEARTBEAT_TIMEOUT_MS,
  pause,
  readRun,
  readThreadLog,
  startDemoRun,
  startFaultStack,
} from "./support/fault-stack.js";
import { type ReceivedEvent, startResumingClient } from "./support/resuming-client.js";

// One Redis, one gateway, one API, one worker (real processes). Mid-run, Redis fills up to its
// `maxmemory` with `noeviction` (every write answers OOM), stays full for FULL_MS — long enough for
// the worker's attempt to fail and its retries to be refused too — and then its memory is freed.
const FULL_MS = 6_000;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ workers: 1 });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

const usedMemory = async (admin: Redis) => Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1]);

/**
 * Makes Redis full: `maxmemory` 16 MB above what it uses now, filler keys until it answers OOM,
 * then the limit 8 MB below the usage, so memory Redis frees by itself (expired keys, buffers)
 * cannot let writes through again before the test frees it.
 */
async function fillRedis(admin: Redis): Promise<string[]> {
  await admin.config("SET", "maxmemory-policy", "noeviction");
  await admin.config("SET", "maxmemory", String((await usedMemory(admin)) + 16 * 1024 * 1024));
  const fillers: string[] = [];
  const chunk = "x".repeat(64 * 1024);
  for (let i = 0; i < 10_000; i++) {
    const key = `filler:${i}`;
    try {
      await admin.set(key, chunk);
      fillers.push(key);
    } catch (error) {
      if (!/OOM/.test(String(error))) throw error;
      await admin.config("SET", "maxmemory", String((await usedMemory(admin)) - 8 * 1024 * 1024));
      return fillers;
    }
  }
  throw new Error("Redis never answered OOM");
}

/** An `?until=done` response read to its end (the connection the gateway closes after a terminal event). */
async function untilDoneResponse(threadId: string): Promise<{ ended: Promise<ReceivedEvent[]> }> {
  const res = await fetch(`${stack.gateways[0]!.url}/v1/threads/${threadId}/events?after=0&until=done`, {
    headers: { authorization: BEARER },
  });
  expect(res.status).toBe(200);
  const ended = res.text().then((text) =>
    text
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)) as ReceivedEvent),
  );
  ended.catch(() => {});
  return { ended };
}

describe("Redis full (maxmemory, noeviction) mid-run", () => {
  it("7. once Redis accepts writes again the run reaches a final state, and clients are told: error, then done", async () => {
    const threadId = uniqueId("full");
    const client = startResumingClient({
      urls: [stack.gateways[0]!.url],
      threadId,
      authorization: BEARER,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });
    const admin = new Redis(stack.redis.url);
    let fillers: string[] = [];
    try {
      const runId = await startDemoRun(stack.api.url, threadId, {
        prompt: "fill the memory",
        tokensPerSecond: 25,
        maxTokens: 90,
      });
      await client.untilEvents(5, 30_000);
      fillers = await fillRedis(admin);
      // A client that asks for the rest of the run while Redis is full.
      const waiting = await untilDoneResponse(threadId);
      await pause(FULL_MS);
      // The fault held the whole time: Redis still refuses writes, and the run has not ended.
      await expect(admin.set("probe", "x")).rejects.toThrow(/OOM/);
      expect(client.events.map((e) => e.type)).not.toContain("done");

      await admin.del(...fillers);
      await admin.config("SET", "maxmemory", "0");
      const freedAt = Date.now();

      const events = await client.untilDone(60_000);
      const doneAt = client.receivedAt[events.length - 1]!;
      const ofRun = events.filter((e) => e.runId === runId);
      // Told why the attempt stopped, then the run's end.
      expect(ofRun.some((e) => e.type === "error")).toBe(true);
      expect(ofRun.at(-1)?.type).toBe("done");
      const record = await readRun(stack.api.url, threadId, runId);
      expect(["completed", "failed"]).toContain(record.status);
      // The ?until=done response ended on a terminal event of the run.
      const tail = await Promise.race([
        waiting.ended,
        pause(30_000).then(() => {
          throw new Error("the ?until=done response never ended");
        }),
      ]);
      expect(["error", "done"]).toContain(tail.at(-1)?.type);
      // The stream and the log agree (nothing was lost or doubled by the refused writes).
      expect(events.map((e) => e.id)).toEqual(
        (await readThreadLog(stack.api.url, threadId)).map((e) => e.id),
      );
      const errorAt = client.receivedAt[events.findIndex((e) => e.runId === runId && e.type === "error")]!;
      console.log(
        `Redis full for ${FULL_MS} ms: run ${record.status} (attempts ${record.attempts}); its error reached the client ${errorAt - freedAt} ms and its done ${doneAt - freedAt} ms after memory was freed`,
      );
    } finally {
      client.close();
      if (fillers.length > 0) await admin.del(...fillers).catch(() => {});
      await admin.config("SET", "maxmemory", "0").catch(() => {});
      admin.disconnect();
    }
  }, 150_000);
});
