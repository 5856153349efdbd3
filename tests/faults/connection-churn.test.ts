import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  type RedisClient,
} from "@threadline/redis";
import { openSse, type RedisServer, startRedisServer, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";
import { BEARER, HEARTBEAT_MS, readMetrics, rssBytes } from "./support/fault-stack.js";

// Connection churn against ONE gateway: SSE clients connect and disconnect in batches while events
// flow. Afterwards every per-stream resource must be gone again: Redis (pub/sub) connections, open
// streams and Node handles back to their baseline, RSS within a tolerance. `pnpm test` runs ~1,000
// churns; `pnpm test:soak` runs 10,000 (CHURN_COUNT).
const CHURNS = Number(process.env.CHURN_COUNT ?? 1_000);
const BATCH = 50;
/** Node handles may differ by a few (keep-alive sockets of the metrics scrape, timers). */
const HANDLE_TOLERANCE = 5;
/** RSS may grow by heap and allocator slack that is not a leak; a leak of ~1 KB per stream over 10,000 would pass 10 MiB, this bound is loose on purpose for a loaded 2-core box. */
const RSS_TOLERANCE_BYTES = 40 * 1024 * 1024;

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
    env: { LOG_LEVEL: "warn", HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) },
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
      const churn = async (count: number) => {
        for (let done = 0; done < count; done += BATCH) {
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
      await churn(BATCH * 2); // warm-up: JIT, pools, first allocations
      const baseline = await settle((f) => f.openStreams === 0, 10_000);
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
        `churn: ${CHURNS} streams in ${seconds.toFixed(1)} s (${Math.round(CHURNS / seconds)}/s); baseline ${JSON.stringify(baseline)}; after ${JSON.stringify(after)}; RSS +${((after.rss - baseline.rss) / 2 ** 20).toFixed(1)} MiB`,
      );
      expect(after.openStreams).toBe(0);
      expect(after.pubsubClients).toBe(baseline.pubsubClients);
      expect(after.redisClients).toBe(baseline.redisClients);
      expect(after.handles).toBeLessThanOrEqual(baseline.handles + HANDLE_TOLERANCE);
      expect(after.rss - baseline.rss).toBeLessThan(RSS_TOLERANCE_BYTES);
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    },
    Math.max(120_000, CHURNS * 60),
  );
});
