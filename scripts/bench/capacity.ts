/**
 * `pnpm bench:capacity`: the capacity model of docs/SCALING.md, planned and checked.
 *
 *   --plan               print the plans for 100k and 1M watchers (costs below, from pnpm bench)
 *   (default) --check    calibrate the model on ONE gateway, then run N gateways on the same Redis
 *                        with the same watchers and rate, and compare each gateway's CPU, RSS and
 *                        the Redis connection count with what the model predicts
 *   --modes shared,dedicated  --gateways 2  --watchers 1000  --rate 2000  --seconds 8
 *
 * The check calibrates in the same run because absolute costs move with the machine's load; what it
 * tests is the model's shape: per-gateway CPU proportional to the deliveries it makes, RSS to the
 * connections it holds, Redis connections per mode.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { freePort } from "@threadline/testing";
import { startBenchRedis } from "./lib/bench-redis.js";
import { type Costs, type Limits, plan, type Workload } from "./lib/capacity-model.js";
import { scriptArgs } from "./lib/cli-args.js";
import type { ConnSpec } from "./lib/client-protocol.js";
import { createLoadClient } from "./lib/load-client.js";
import { drive } from "./lib/paced-publisher.js";
import { processCpuMs } from "./lib/processes.js";
import { createRawPublisher } from "./lib/raw-publisher.js";
import { startTarget, type Target } from "./lib/targets.js";

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    plan: { type: "boolean", default: false },
    modes: { type: "string", default: "shared,dedicated" },
    gateways: { type: "string", default: "2" },
    watchers: { type: "string", default: "1000" },
    rate: { type: "string", default: "2000" },
    seconds: { type: "string", default: "8" },
  },
});

/**
 * Measured costs (docs/BENCHMARKS.md): CPU per delivery from S1 at 20k (dedicated) / 40k (shared)
 * events/s on a quiet machine (round 5, 2026-11-30 06:50), RSS and Redis memory per connection from
 * S3 at 9,000 connections, Redis per published event and one worker's events/s from S5 (the worker's
 * batched script calls, coalescing off), per subscriber write from this script's check. Redis per
 * event: the quiet machine's 10.6 µs × 0.62, the one-key-per-call script measured against it side by
 * side on a slower machine (docs/BENCHMARKS.md, "Worker throughput"); the worker's 63k events/s is
 * from before that change (its CPU per event fell to 0.62× as well, not re-measured on a quiet machine).
 */
export const MEASURED: Costs = {
  dedicated: { cpuUsPerDelivery: 30.8, rssKiBPerConnection: 30.2, baseRssMiB: 129, redisKiBPerWatcher: 6.9 },
  shared: { cpuUsPerDelivery: 15.4, rssKiBPerConnection: 27.5, baseRssMiB: 132, redisKiBPerWatcher: 0.4 },
  redisUsPerPublish: 6.6,
  redisUsPerSubscriberWrite: 1.5,
  workerEventsPerSec: 63_000,
};

export const LIMITS: Limits = {
  gatewayUtilisation: 0.6,
  gatewayRssMiB: 2_048,
  gatewayMaxFiles: 60_000,
  shardUtilisation: 0.6,
  shardMaxClients: 50_000,
  shardMemoryMiB: 8_192,
  workerUtilisation: 0.6,
};

if (values.plan) {
  const workloads: [string, Workload][] = [
    [
      "100k watchers, 1 per thread, 10 % streaming at 50 events/s",
      { watchers: 100_000, watchersPerThread: 1, eventsPerSecPerThread: 50, activeShare: 0.1 },
    ],
    [
      "1M watchers, 1 per thread, 10 % streaming at 50 events/s",
      { watchers: 1_000_000, watchersPerThread: 1, eventsPerSecPerThread: 50, activeShare: 0.1 },
    ],
    [
      "1M watchers, 100 per thread (fan-out), 10 % streaming at 50 events/s",
      { watchers: 1_000_000, watchersPerThread: 100, eventsPerSecPerThread: 50, activeShare: 0.1 },
    ],
  ];
  console.log(
    "| workload | mode | events/s | deliveries/s | gateways (by CPU / memory / files) | per gateway: watchers, CPU, RSS | Redis connections | shards (by CPU / connections / memory) | workers | first bottleneck |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const [label, w] of workloads) {
    for (const mode of ["dedicated", "shared"] as const) {
      const p = plan(mode, MEASURED, w, LIMITS);
      console.log(
        `| ${label} | ${mode} | ${p.eventsPerSec.toLocaleString("en")} | ${p.deliveriesPerSec.toLocaleString("en")} | ${p.gateways} (${p.gatewaysBy.cpu} / ${p.gatewaysBy.memory} / ${p.gatewaysBy.files}) | ${p.watchersPerGateway.toLocaleString("en")}, ${p.perGateway.cpuPercent} %, ${p.perGateway.rssMiB} MiB | ${p.redisConnections.toLocaleString("en")} | ${p.shards} (${p.shardsBy.cpu} / ${p.shardsBy.connections} / ${p.shardsBy.memory}) | ${p.workers} | ${p.firstBottleneck} |`,
      );
    }
  }
  process.exit(0);
}

const gatewayCount = Number(values.gateways);
const watchers = Number(values.watchers);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
console.log(
  `load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ")}`,
);
const redis = await startBenchRedis(0);
const publisher = createRawPublisher(redis.url);
const tmpDir = os.tmpdir();
const rows: string[] = [];
try {
  for (const mode of values.modes.split(",") as ("shared" | "dedicated")[]) {
    const one = await measureRun(mode, 1);
    const calibrated = {
      cpuUsPerDelivery: one.gateways[0]?.cpuUsPerDelivery ?? 0,
      rssKiBPerConnection: one.gateways[0]?.rssKiBPerConnection ?? 0,
      redisUsPerSubscriberWrite: one.redisUsPerEvent,
    };
    console.log(`${mode}, 1 gateway: ${JSON.stringify(one)}`);
    const many = await measureRun(mode, gatewayCount);
    console.log(`${mode}, ${gatewayCount} gateways: ${JSON.stringify(many)}`);
    const perGatewayDeliveries = many.deliveriesPerSec / gatewayCount;
    const predictedCpu = (perGatewayDeliveries * calibrated.cpuUsPerDelivery) / 1e4;
    const predictedRssGrowthMiB = ((watchers / gatewayCount) * calibrated.rssKiBPerConnection) / 1024;
    // dedicated: a subscriber per watcher + each gateway's command connection; shared: command + subscriber.
    const predictedRedisClients = mode === "dedicated" ? watchers + gatewayCount : 2 * gatewayCount;
    for (const [i, g] of many.gateways.entries()) {
      rows.push(
        `| ${mode} | gateway ${i + 1} of ${gatewayCount} | ${Math.round(perGatewayDeliveries)} | ${predictedCpu.toFixed(1)} % | ${g.cpuPercent.toFixed(1)} % (${(g.cpuPercent / predictedCpu).toFixed(2)}×) | ${predictedRssGrowthMiB.toFixed(1)} MiB | ${g.rssGrowthMiB.toFixed(1)} MiB (${(g.rssGrowthMiB / predictedRssGrowthMiB).toFixed(2)}×) | ${predictedRedisClients} | ${many.redisClients} |`,
      );
    }
  }
} finally {
  publisher.close();
  await redis.stop();
}
console.log(
  `\n| mode | gateway | deliveries/s | CPU predicted | CPU measured | RSS growth predicted | RSS growth measured | Redis clients predicted | Redis clients measured |\n|---|---|---|---|---|---|---|---|---|\n${rows.join("\n")}`,
);
console.log(
  `\nload average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ")}`,
);
process.exit(0);

/** Opens `watchers` SSE clients (one thread each) spread over `count` fresh gateways and publishes. */
async function measureRun(mode: "shared" | "dedicated", count: number) {
  const targets: Target[] = [];
  for (let i = 0; i < count; i++) {
    targets.push(
      await startTarget(mode, {
        repoRoot: process.cwd(),
        parentEnv: process.env,
        redisUrl: redis.url,
        tmpDir,
        nchanModule: "",
        core: 1,
        port: await freePort(),
      }),
    );
  }
  const client = createLoadClient(2);
  try {
    const emptyRss = targets.map((t) => t.proc.rss());
    const tag = `cap-${mode}-${count}-${Date.now().toString(36)}`;
    const threads = Array.from({ length: watchers }, (_, i) => `${tag}-${i}`);
    const specs: ConnSpec[] = threads.map((thread, i) => {
      const target = targets[i % count] as Target;
      return { url: target.sseUrl(thread), headers: target.headers, thread: i };
    });
    const opened = await client.open(specs);
    if (opened.failed > 0) throw new Error(`${opened.failed} connects failed: ${opened.errors[0]}`);
    await client.beginStep(0);
    for (let k = 0; k < 100 && (await client.counts()).warm < watchers; k++) {
      await Promise.all(threads.map((t) => publisher.publish(t, "0|0|0")));
      await new Promise((r) => setTimeout(r, 200));
    }
    await client.beginStep(1);
    const cpu0 = targets.map((t) => t.proc.cpuMs());
    const redisCpu0 = processCpuMs(redis.pid);
    const t0 = performance.now();
    const driven = await drive({
      rate,
      durationMs: seconds * 1000,
      threads,
      step: 1,
      publish: publisher.publish,
      maxInFlight: 4096,
      serialPerThread: false,
    });
    const expected = driven.sent;
    for (let k = 0; k < 60 && (await client.counts()).received < expected; k++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallMs = performance.now() - t0;
    const received = (await client.counts()).received;
    const redisInfo = await redis.info();
    const gateways = targets.map((t, i) => {
      const cpuMs = t.proc.cpuMs() - (cpu0[i] ?? 0);
      const delivered = received / count;
      return {
        cpuPercent: (100 * cpuMs) / wallMs,
        cpuUsPerDelivery: (1000 * cpuMs) / delivered,
        rssGrowthMiB: (t.proc.rss() - (emptyRss[i] ?? 0)) / 2 ** 20,
        rssKiBPerConnection: (t.proc.rss() - (emptyRss[i] ?? 0)) / 1024 / (watchers / count),
      };
    });
    const redisMs = processCpuMs(redis.pid) - redisCpu0;
    return {
      deliveriesPerSec: Math.round(received / (wallMs / 1000)),
      received,
      expected,
      gateways,
      redisCpuPercent: (100 * redisMs) / wallMs,
      // One subscriber write per delivery (one watcher per thread), plus the publish itself.
      redisUsPerEvent: (1000 * redisMs) / Math.max(1, driven.sent),
      redisClients: redisInfo.clients - 2, // less the bench's own admin and publisher connections
    };
  } finally {
    await client.close();
    await Promise.all(targets.map((t) => t.stop()));
  }
}
