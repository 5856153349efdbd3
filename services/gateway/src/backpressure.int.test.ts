import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { createEventPublisher } from "@threadline/redis";
import { openSse, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { useAdminRedis } from "./test-support/admin-redis.js";
import { type GatewayProcess, startGatewayProcess } from "./test-support/gateway-process.js";
import { connectWs } from "./test-support/ws-client.js";

const t = useAdminRedis();

const EVENTS = 10_000;
const CONTENT = "x".repeat(4 * 1024);

/**
 * These tests are about the gateway's bound toward its clients. When the gateway falls behind the
 * 40 MB burst (a loaded CI machine), Redis would drop its subscriber at the default pub/sub
 * output-buffer limit (32 MB) and the gateway would backfill from the log, pacing the stalled client
 * instead of cutting it off: a CI failure that says nothing about the bound. So Redis keeps
 * subscribers whatever their backlog here (and the WebSocket test's log keeps every event in case one
 * drops anyway; the SSE test needs its 100-entry log for the truncated resume it checks).
 */
async function keepSubscribersWhileBehind(): Promise<void> {
  await t.client.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0");
}

describe("backpressure (gateway as a child process)", () => {
  it("cuts off a client that never reads while 40 MB are published; memory stays bounded; a reader gets everything", {
    timeout: 60_000,
  }, async () => {
    const gw = await startGatewayProcess({
      REDIS_URL: t.redis.url,
      SSE_MAX_BUFFER_BYTES: String(1024 * 1024),
    });
    try {
      const threadId = uniqueId();
      const token = signDevToken(DEV_JWT_SECRET, { sub: "bp", threads: [threadId] });
      const url = `${gw.base}/v1/threads/${threadId}/events`;
      const headers = { authorization: `Bearer ${token}` };
      const stalled = await openSse(url, { headers, paused: true });
      const reader = await openSse(url, { headers });
      expect([stalled.status, reader.status]).toEqual([200, 200]);

      const baseline = gw.rss();
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, gw.rss());
      }, 50);
      // Also when the test fails early: the gateway is gone then, and /proc with it.
      onTestFinished(() => clearInterval(sampler));
      await keepSubscribersWhileBehind();
      const publisher = createEventPublisher(t.client, { logMaxLen: 100, logTtlSeconds: 60 });
      for (let i = 0; i < EVENTS; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            publisher.publish({ threadId, runId: "r" }, { type: "token", content: `${i + j}:${CONTENT}` }),
          ),
        );
      }
      await reader.waitForEvents(EVENTS, 40_000);
      clearInterval(sampler);
      peak = Math.max(peak, gw.rss());

      const seqs = reader.json<{ seq: number }>().map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
      expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);

      const metrics = await (await fetch(`${gw.base}/metrics`)).text();
      expect(metrics).toMatch(/threadline_gateway_slow_consumer_cutoffs_total 1\b/);
      expect(metrics).toMatch(/threadline_gateway_open_streams 1\b/);
      expect(gw.stdout.some((l) => l.includes("slow consumer cut off"))).toBe(true);

      // Reading again, it finds its stream cut short; it resumes with Last-Event-ID (the 100-entry log
      // no longer holds its position, so it is told so in-band, then gets what is retained).
      stalled.resume();
      await stalled.ended;
      expect(stalled.events.length).toBeLessThan(EVENTS);
      const resumed = await stalled.reconnect({ paused: false });
      await resumed.waitFor((c) => c.lastEventId === reader.lastEventId, 10_000);
      expect(JSON.parse(resumed.events[0]!.data).content.code).toBe("REPLAY_TRUNCATED");
      resumed.close();
      console.log(
        `backpressure: gateway RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak +${((peak - baseline) / 2 ** 20).toFixed(1)} MiB; stalled client got ${stalled.events.length} events before the cut-off`,
      );
    } finally {
      gw.kill("SIGTERM");
      await gw.exited;
    }
  });

  it("cuts off a WebSocket that never reads with close 4008 while 40 MB are published; memory stays bounded as for SSE", {
    timeout: 60_000,
  }, async () => {
    const gw = await startGatewayProcess({
      REDIS_URL: t.redis.url,
      SSE_MAX_BUFFER_BYTES: String(1024 * 1024),
    });
    try {
      const threadId = uniqueId();
      const token = signDevToken(DEV_JWT_SECRET, { sub: "bp", threads: [threadId] });
      const url = `${gw.base.replace("http", "ws")}/v1/ws`;
      const headers = { authorization: `Bearer ${token}` };
      const stalled = await connectWs(url, headers);
      const reader = await connectWs(url, headers);
      for (const c of [stalled, reader]) {
        c.send({ type: "subscribe", threadId });
        await c.waitFor((x) => x.frames.some((f) => f.type === "subscribed"));
      }
      stalled.pause();

      const baseline = gw.rss();
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, gw.rss());
      }, 50);
      // Also when the test fails early: the gateway is gone then, and /proc with it.
      onTestFinished(() => clearInterval(sampler));
      // Once cut off, the stalled client reads again (within the gateway's 5 s close grace) and finds
      // what was in flight, then the documented close.
      let cut = false;
      const watcher = (async () => {
        while (!cut) {
          const text = await (await fetch(`${gw.base}/metrics`)).text();
          cut = /threadline_gateway_slow_consumer_cutoffs_total 1\b/.test(text);
          if (!cut) await new Promise((r) => setTimeout(r, 100));
        }
        stalled.resume();
        return stalled.closed;
      })();
      // Awaited at the end; a test failing before then stops the gateway under it (fetch fails).
      watcher.catch(() => {});
      await keepSubscribersWhileBehind();
      const publisher = createEventPublisher(t.client, { logMaxLen: EVENTS, logTtlSeconds: 60 });
      for (let i = 0; i < EVENTS; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            publisher.publish({ threadId, runId: "r" }, { type: "token", content: `${i + j}:${CONTENT}` }),
          ),
        );
      }
      await reader.waitFor((c) => c.eventsOf(threadId).length === EVENTS, 40_000);
      clearInterval(sampler);
      peak = Math.max(peak, gw.rss());

      const seqs = reader.frames.flatMap((f) => (f.type === "event" ? [f.event?.seq] : []));
      expect(seqs).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
      expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);
      const metrics = await (await fetch(`${gw.base}/metrics`)).text();
      expect(metrics).toMatch(/threadline_gateway_slow_consumer_cutoffs_total 1\b/);
      expect(metrics).toMatch(/threadline_gateway_open_streams 1\b/);
      expect(await watcher).toEqual({ code: 4008, reason: "SLOW_CONSUMER" });
      expect(stalled.eventsOf(threadId).length).toBeLessThan(EVENTS);
      reader.close();
      console.log(
        `backpressure (WebSocket): gateway RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak +${((peak - baseline) / 2 ** 20).toFixed(1)} MiB; stalled socket got ${stalled.eventsOf(threadId).length} events before 4008`,
      );
    } finally {
      gw.kill("SIGTERM");
      await gw.exited;
    }
  });

  // Replays and one large event under a 64 KiB bound: one gateway for the three, as nothing here
  // reads its metrics or memory.
  describe("under a 64 KiB bound", () => {
    let gw: GatewayProcess;
    beforeAll(async () => {
      gw = await startGatewayProcess({ REDIS_URL: t.redis.url, SSE_MAX_BUFFER_BYTES: String(64 * 1024) });
    });
    afterAll(async () => {
      gw?.kill("SIGTERM");
      await gw?.exited;
    });

    /** 1,000 events of ~300 B: one 500-event replay page is ~150 KB, over the 64 KiB bound. */
    async function publishBacklog(threadId: string) {
      const publisher = createEventPublisher(t.client, { logMaxLen: 10_000, logTtlSeconds: 60 });
      for (let i = 0; i < 1_000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            publisher.publish(
              { threadId, runId: "r" },
              { type: "token", content: `${i + j}:${"y".repeat(200)}` },
            ),
          ),
        );
      }
    }

    it("replays a backlog larger than SSE_MAX_BUFFER_BYTES to a reading client (waits for drain per event, not per page)", {
      timeout: 60_000,
    }, async () => {
      const threadId = uniqueId();
      const token = signDevToken(DEV_JWT_SECRET, { sub: "bp", threads: [threadId] });
      await publishBacklog(threadId);
      const conn = await openSse(`${gw.base}/v1/threads/${threadId}/events?after=0`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await conn.waitForEvents(1_000, 20_000);
      expect(conn.json<{ seq: number }>().map((e) => e.seq)).toEqual(
        Array.from({ length: 1_000 }, (_, i) => i + 1),
      );
      expect(conn.closed).toBe(false);
      conn.close();
    });

    it("delivers one event larger than SSE_MAX_BUFFER_BYTES to a reading client (the bound is judged before each write)", {
      timeout: 60_000,
    }, async () => {
      const threadId = uniqueId();
      const token = signDevToken(DEV_JWT_SECRET, { sub: "bp", threads: [threadId] });
      const publisher = createEventPublisher(t.client, { logMaxLen: 100, logTtlSeconds: 60 });
      // e.g. a `done` carrying a long run's whole output
      await publisher.publish({ threadId, runId: "r" }, { type: "token", content: "z".repeat(300 * 1024) });
      await publisher.publish({ threadId, runId: "r" }, { type: "done", content: { finishReason: "stop" } });
      const conn = await openSse(`${gw.base}/v1/threads/${threadId}/events?after=0`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await conn.waitForEvents(2, 20_000);
      expect(conn.json<{ seq: number; type: string }>().map((e) => [e.seq, e.type])).toEqual([
        [1, "token"],
        [2, "done"],
      ]);
      conn.close();
    });

    it("cuts off a client that stops reading during a replay once the live events held back for it pass SSE_MAX_BUFFER_BYTES", {
      timeout: 60_000,
    }, async () => {
      const threadId = uniqueId();
      const token = signDevToken(DEV_JWT_SECRET, { sub: "bp", threads: [threadId] });
      const publisher = createEventPublisher(t.client, { logMaxLen: 10_000, logTtlSeconds: 60 });
      const publish = async (from: number, count: number) => {
        for (let i = from; i < from + count; i += 100) {
          await Promise.all(
            Array.from({ length: 100 }, (_, j) =>
              publisher.publish({ threadId, runId: "r" }, { type: "token", content: `${i + j}:${CONTENT}` }),
            ),
          );
        }
      };
      // 12 MB of backlog: more than the socket buffers of a client that reads nothing can take, so
      // the replay waits for a drain that never comes, and live events are held back meanwhile.
      await publish(0, 3_000);
      const stalled = await openSse(`${gw.base}/v1/threads/${threadId}/events?after=0`, {
        headers: { authorization: `Bearer ${token}` },
        paused: true,
      });
      expect(stalled.status).toBe(200);
      // 400 KB held back: only the budget check of held bytes (not of writes) can see them.
      await publish(3_000, 100);
      stalled.resume();
      await stalled.ended;
      expect(stalled.events.length).toBeLessThan(3_100);
      const metrics = await (await fetch(`${gw.base}/metrics`)).text();
      expect(metrics).toMatch(/threadline_gateway_slow_consumer_cutoffs_total [1-9]/);
    });

    it("replays a backlog larger than SSE_MAX_BUFFER_BYTES to a reading WebSocket (pages wait for the socket)", {
      timeout: 60_000,
    }, async () => {
      const threadId = uniqueId();
      const token = signDevToken(DEV_JWT_SECRET, { sub: "bp", threads: [threadId] });
      await publishBacklog(threadId);
      const client = await connectWs(`${gw.base.replace("http", "ws")}/v1/ws`, {
        authorization: `Bearer ${token}`,
      });
      client.send({ type: "subscribe", threadId, after: "0" });
      await client.waitFor((c) => c.eventsOf(threadId).length === 1_000, 20_000);
      expect(client.frames.flatMap((f) => (f.type === "event" ? [f.event?.seq] : []))).toEqual(
        Array.from({ length: 1_000 }, (_, i) => i + 1),
      );
      expect(client.isClosed()).toBe(false);
      client.close();
    });
  });
});
