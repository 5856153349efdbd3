/**
 * Scale-out throughput: SSE deliveries/s through nginx vs direct to one gateway — same run, same load
 * client, same publisher — on standalone Redis and on a local 3-master Redis Cluster.
 *
 *   pnpm bench:scale [--threads 20] [--clients 5] [--events 200] [--rounds 2] [--skip-cluster]
 *
 * Each measurement: `threads × clients` SSE streams open on the target, then the publish script
 * (XADD + PUBLISH/SPUBLISH, 64 in flight) pushes `events` events to every thread; the figure is total
 * deliveries ÷ (last delivery − first publish). Targets alternate (A B C A B C …) so drift in a shared
 * machine's load hits every target alike. Prints a Markdown table.
 */
import http from "node:http";
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { startNginx } from "../topology/start-nginx.js";
import { startTopology, type Topology } from "../topology/start-topology.js";
import { scriptArgs } from "./lib/cli-args.js";

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    threads: { type: "string", default: "20" },
    clients: { type: "string", default: "5" },
    events: { type: "string", default: "200" },
    rounds: { type: "string", default: "2" },
    "skip-cluster": { type: "boolean", default: false },
  },
});
const positive = (name: string, value: string, max: number) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(`--${name}: expected 1-${max}, got "${value}"`);
  return n;
};
const load = {
  threads: positive("threads", values.threads, 1_000),
  clients: positive("clients", values.clients, 100),
  events: positive("events", values.events, 100_000),
};
const rounds = positive("rounds", values.rounds, 20);
const token = signDevToken(DEV_JWT_SECRET, { sub: "bench", threads: ["*"], ttlSeconds: 3_600 });

interface Measurement {
  deliveries: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
}

const rows: string[] = [];
const publishRates: string[] = [];
for (const mode of values["skip-cluster"] ? ["standalone"] : ["standalone", "cluster"]) {
  const topology = await startTopology({
    gateways: 2,
    apis: 1,
    workers: 1,
    ...(mode === "cluster" ? { redis: "cluster" as const } : {}),
    envFor: { gateway: { LOG_LEVEL: "warn", MAX_STREAMS_PER_SUBJECT: "100000" } },
    parentEnv: process.env,
  });
  // The same nginx config with only gateway-1 behind it: isolates the proxy hop's own cost.
  const oneGateway = await startNginx({
    gateways: [`127.0.0.1:${topology.gateways[0]!.port}`],
    apis: [`127.0.0.1:${topology.apis[0]!.port}`],
  });
  try {
    const targets: [string, string][] = [
      ["direct → gateway-1", topology.gateways[0]!.url],
      ["nginx → gateway-1", oneGateway.url],
      ["nginx → 2 gateways", topology.url],
    ];
    const results = new Map<string, Measurement[]>(targets.map(([name]) => [name, []]));
    await measure(topology, topology.url); // warm up: JIT, script load, connection pools
    for (let r = 0; r < rounds; r++) {
      for (const [name, url] of targets) results.get(name)!.push(await measure(topology, url));
    }
    publishRates.push(`| ${mode} | ${Math.round(await publishOnly(topology)).toLocaleString("en")} |`);
    const direct = median(results.get(targets[0]![0])!.map((m) => m.rate));
    for (const [name] of targets) {
      const ms = results.get(name)!;
      const rate = median(ms.map((m) => m.rate));
      rows.push(
        `| ${mode} | ${name} | ${Math.round(rate).toLocaleString("en")} | ${(rate / direct).toFixed(2)} | ${median(ms.map((m) => m.p50))} | ${median(ms.map((m) => m.p99))} |`,
      );
    }
  } finally {
    await oneGateway.stop();
    await topology.stop();
  }
}

console.log(
  `\n${load.threads} threads × ${load.clients} SSE clients, ${load.events} events per thread (${(load.threads * load.clients * load.events).toLocaleString("en")} deliveries per measurement), median of ${rounds} rounds\n`,
);
console.log("| redis | target | deliveries/s | ratio to direct | latency p50 ms | latency p99 ms |");
console.log("|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
console.log(
  "\nPublish script alone (XADD + PUBLISH/SPUBLISH, 64 in flight over 64 threads, no subscribers):\n",
);
console.log("| redis | events/s |");
console.log("|---|---|");
for (const row of publishRates) console.log(row);
process.exit(0);

function publisherClient(topology: Topology) {
  return createRedisClient(
    {
      url: topology.redisEnv.REDIS_URL ?? "redis://unused",
      ...(topology.cluster ? { clusterNodes: topology.cluster.nodes } : {}),
    },
    { name: "bench-scale-publisher" },
  );
}

async function publishOnly(topology: Topology, total = 20_000): Promise<number> {
  const redis = publisherClient(topology);
  const publisher = createEventPublisher(redis, { logMaxLen: 1_000, logTtlSeconds: 300 });
  const threadIds = Array.from({ length: 64 }, () => uniqueId("bench-pub"));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < total) {
        const i = next++;
        await publisher.publish(
          { threadId: threadIds[i % 64]!, runId: "bench" },
          { type: "token", content: "lorem ipsum " },
        );
      }
    }),
  );
  const rate = total / ((performance.now() - started) / 1000);
  await closeRedisClient(redis);
  return rate;
}

async function measure(topology: Topology, baseUrl: string): Promise<Measurement> {
  const threadIds = Array.from({ length: load.threads }, () => uniqueId("bench"));
  const expected = load.threads * load.clients * load.events;
  const latencies: number[] = [];
  let delivered = 0;
  let lastDelivery = 0;
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const streams = await Promise.all(
    threadIds.flatMap((threadId) =>
      Array.from({ length: load.clients }, () =>
        openCounting(`${baseUrl}/v1/threads/${threadId}/events`, (ts) => {
          const now = Date.now();
          latencies.push(now - ts);
          lastDelivery = now;
          if (++delivered === expected) finish();
        }),
      ),
    ),
  );
  const redis = publisherClient(topology);
  const publisher = createEventPublisher(redis, { logMaxLen: 1_000, logTtlSeconds: 300 });
  const started = Date.now();
  let next = 0;
  const total = load.threads * load.events;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < total) {
        const i = next++;
        await publisher.publish(
          { threadId: threadIds[i % load.threads]!, runId: "bench" },
          { type: "token", content: "lorem ipsum " },
        );
      }
    }),
  );
  const timeout = setTimeout(finish, 60_000);
  await done;
  clearTimeout(timeout);
  for (const close of streams) close();
  await closeRedisClient(redis);
  if (delivered < expected)
    throw new Error(`${baseUrl}: only ${delivered} of ${expected} deliveries within 60 s`);
  latencies.sort((a, b) => a - b);
  const seconds = (lastDelivery - started) / 1000;
  return {
    deliveries: delivered,
    seconds,
    rate: delivered / seconds,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

/** One SSE stream; calls `onEvent(ts)` per `data:` line (cheap parsing: the client must not be the bottleneck). */
function openCounting(url: string, onEvent: (ts: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${token}` },
      agent: false,
    });
    request.once("error", reject);
    request.once("response", (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`${url}: ${response.statusCode}`));
        response.resume();
        return;
      }
      let rest = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.startsWith("data: ")) continue;
          const at = line.indexOf('"ts":');
          onEvent(Number(line.slice(at + 5, line.indexOf(",", at))));
        }
      });
      response.on("error", () => {});
      resolve(() => request.destroy());
    });
  });
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
