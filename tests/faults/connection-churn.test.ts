import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  type RedisClient,
} from "@threadline/redis";
import { openSse, type RedisServer, startRedisServer, testEnv, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";
import { BEARER, HEARTBEAT_MS, readMetrics, rssBytes } from "./support/fault-stack.js";

// Connection churn against ONE gateway: SSE clients connect and disconnect in batches while events
// flow. Afterwards every per-stream resource must be gone again: Redis (pub/sub) connections, open
// streams and Node handles back to their baseline, RSS within a tolerance. `pnpm test` runs ~1,000
// churns; `pnpm test:soak` runs 10,000 (CHURN_COUNT).
const CHURNS = Number(testEnv().CHURN_COUNT ?? 1_000);
const BATCH = 50;
/** Node handles may differ by a few (keep-alive sockets of the metrics scrape, timers). */
const HANDLE_TOLERANCE = 5;
/**
 * RSS: V8 grows its heap once under churn and keeps it (measured: +~65 MiB over the first ~4,000
 * streams, then flat), so RSS is judged two ways: overall growth within RSS_CAP_BYTES, and growth
 * over the second half within RSS_SECOND_HALF_BYTES — a per-stream leak grows linearly (7 KB per
 * stream would add 35 MiB over the last 5,000 of a 10,000 soak); a warmed-up heap does not.
 */
const RSS_CAP_BYTES = 96 * 1024 * 1024;
const RSS_SECOND_HALF_BYTES = 32 * 1024 * 1024;

let redis: RedisServer;
let topology: Topology;
let admin: RedisClient;

beforeAll(async () => {
  redis = await startRedisServer();
  admin = createRedisClient({ url: redis.url }, { name: "churn-admin" });
  topology = await startTopology({
    gateways: 1,
    apis: 0,
    workers: 0,
    nginx: false,
    redis: { url: redis.url },
    env: {
      LOG_LEVEL: "warn",
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
      // A small young generation: V8 otherwise grows it (and RSS) by tens of MiB under churn and
      // keeps it, which would hide a real per-stream leak in the noise.
      NODE_OPTIONS: "--max-semi-space-size=2",
    },
    readyTimeoutMs: 90_000,
  });
}, 180_000);
afterAll(async () => {
  await topology?.stop();
  if (admin) await closeRedisClient(admin);
  await redis?.dispose();
}, 60_000);

interface Footprint {
  redisClients: number;
  pubsubClients: number;
  openStreams: number;
  handles: number;
  rss: number;
}

async function footprint(): Promise<Footprint> {
  const gw = topology.gateways[0]!;
  const metrics = await readMetrics(gw.url);
  const clients = String(await admin.call("CLIENT", "LIST"))
    .trim()
    .split("\n");
  const pubsub = String(await admin.call("CLIENT", "LIST", "TYPE", "pubsub")).trim();
  return {
    redisClients: clients.length,
    pubsubClients: pubsub === "" ? 0 : pubsub.split("\n").length,
    openStreams: metrics.value("threadline_gateway_open_streams") ?? -1,
    handles: metrics.value("threadline_gateway_nodejs_active_handles_total") ?? -1,
    rss: rssBytes(gw.process.pid),
  };
}

async function settle(ok: (f: Footprint) => boolean, timeoutMs: number): Promise<Footprint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = await footprint();
    if (ok(f) || Date.now() > deadline) return f;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe(`connection churn (${CHURNS} connects/disconnects in batches of ${BATCH}, one gateway)`, () => {
  it(
    "returns Redis connections, open streams, handles and RSS to baseline",
    async () => {
      const gw = topology.gateways[0]!;
      const threadId = uniqueId("churn");
      const url = `${gw.url}/v1/threads/${threadId}/events`;
      const publisher = createEventPublisher(admin, { logMaxLen: 1_000, logTtlSeconds: 600 });
      const rssCurve: number[] = [];
      let rssMid = 0;
      const churn = async (count: number) => {
        const every = Math.max(BATCH, Math.floor(count / 10 / BATCH) * BATCH);
        for (let done = 0; done < count; done += BATCH) {
          if (done % every === 0) rssCurve.push(Math.round(rssBytes(gw.process.pid) / 2 ** 20));
          if (done === Math.floor(count / 2 / BATCH) * BATCH) rssMid = rssBytes(gw.process.pid);
          const n = Math.min(BATCH, count - done);
          // Half resume from the start (replay path), half go live; each sees an event, then leaves.
          const conns = await Promise.all(
            Array.from({ length: n }, (_, i) =>
              openSse(url, { headers: { authorization: BEARER }, ...(i % 2 ? { lastEventId: "0" } : {}) }),
            ),
          );
          expect(conns.every((c) => c.status === 200)).toBe(true);
          await publisher.publish({ threadId, runId: "churn" }, { type: "token", content: `batch ${done}` });
          await Promise.all(conns.map((c) => c.waitFor((x) => x.events.length > 0, 20_000)));
          for (const c of conns) c.close();
        }
      };
      // Connections and handles must come back exactly to the idle gateway's; RSS is compared
      // with its value after a warm-up (JIT, pools, first allocations).
      const idle = await footprint();
      await churn(BATCH * 2);
      const baseline = { ...idle, rss: (await settle((f) => f.openStreams === 0, 10_000)).rss };
      const started = Date.now();
      await churn(CHURNS);
      const seconds = (Date.now() - started) / 1000;
      const after = await settle(
        (f) =>
          f.openStreams === 0 &&
          f.pubsubClients === baseline.pubsubClients &&
          f.redisClients === baseline.redisClients &&
          f.handles <= baseline.handles + HANDLE_TOLERANCE,
        15_000,
      );
      console.log(
        `churn: ${CHURNS} streams in ${seconds.toFixed(1)} s (${Math.round(CHURNS / seconds)}/s); baseline ${JSON.stringify(baseline)}; after ${JSON.stringify(after)}; RSS +${((after.rss - baseline.rss) / 2 ** 20).toFixed(1)} MiB (second half +${((after.rss - rssMid) / 2 ** 20).toFixed(1)} MiB); RSS MiB along the way ${rssCurve.join(" ")}`,
      );
      expect(after.openStreams).toBe(0);
      expect(after.pubsubClients).toBe(baseline.pubsubClients);
      expect(after.redisClients).toBe(baseline.redisClients);
      expect(after.handles).toBeLessThanOrEqual(baseline.handles + HANDLE_TOLERANCE);
      expect(after.rss - baseline.rss, "RSS growth overall").toBeLessThan(RSS_CAP_BYTES);
      // Below ~5,000 streams the heap is still in its one-time growth: the slope says nothing yet.
      if (CHURNS >= 5_000)
        expect(after.rss - rssMid, "RSS growth over the second half").toBeLessThan(RSS_SECOND_HALF_BYTES);
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    },
    Math.max(120_000, CHURNS * 60),
  );
});
