/**
 * Cost of an idle SSE connection on the gateway, per subscriber mode: gateway RSS and Redis
 * connections (and Redis memory) per open stream.
 *
 *   npx tsx --conditions=@threadline/source scripts/bench/gateway-idle-cost.ts [--connections 1000] [--threads N]
 *
 * Starts its own redis-server on a free port and the gateway as a child process (the built
 * `services/gateway/dist/main.js` when present — run `pnpm build` first for production-like RSS —
 * else `src/main.ts` through tsx), opens N idle streams (each on its own thread unless --threads),
 * lets them settle, and reads /proc/<pid>/status VmRSS and Redis INFO.
 */
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { eventually, startRedisServer } from "@threadline/testing";
import { Redis } from "ioredis";
import { gatewaySource, openSse, redisClients, startCostGateway } from "./lib/cost-gateway.js";

const { values } = parseArgs({
  options: { connections: { type: "string", default: "1000" }, threads: { type: "string" } },
});
const connections = Number(values.connections);
const threads = Number(values.threads ?? values.connections);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

interface Row {
  mode: string;
  baseRss: number;
  rss: number;
  redisClients: number;
  baseRedisClients: number;
  redisMemory: number;
  baseRedisMemory: number;
  afterCloseRedisClients: number;
}

const redis = await startRedisServer();
const probe = new Redis(redis.url);
const rows: Row[] = [];
try {
  for (const mode of ["dedicated", "shared"] as const) rows.push(await measure(mode));
} finally {
  probe.disconnect();
  await redis.dispose();
}

console.log(
  `\n${connections} idle SSE streams on ${threads} threads; gateway from ${gatewaySource}; Node ${process.version}\n`,
);
console.log(
  "| mode | gateway RSS empty | RSS with streams | RSS per stream | Redis conns (empty → open → closed) | Redis conns per stream | Redis memory per stream |",
);
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.mode} | ${mib(r.baseRss)} MiB | ${mib(r.rss)} MiB | ${((r.rss - r.baseRss) / connections / 1024).toFixed(1)} KiB | ` +
      `${r.baseRedisClients} → ${r.redisClients} → ${r.afterCloseRedisClients} | ${((r.redisClients - r.baseRedisClients) / connections).toFixed(3)} | ` +
      `${((r.redisMemory - r.baseRedisMemory) / connections / 1024).toFixed(1)} KiB |`,
  );
}

async function measure(mode: "dedicated" | "shared"): Promise<Row> {
  const { proc, url: base } = await startCostGateway({ PATH: process.env.PATH }, redis.url, {
    SUBSCRIBER_MODE: mode,
    MAX_STREAMS_PER_SUBJECT: String(connections + 10),
    MAX_CONNECTIONS: String(connections + 10),
  });
  try {
    const baseRss = proc.rss();
    const baseRedisClients = await redisClients(probe);
    const baseRedisMemory = await redisMemory();

    const token = signDevToken(DEV_JWT_SECRET, { sub: "bench", threads: ["*"] });
    const closers: (() => void)[] = [];
    for (let i = 0; i < connections; i += 100) {
      const batch = Array.from({ length: Math.min(100, connections - i) }, (_, j) =>
        openSse(`${base}/v1/threads/idle-${(i + j) % threads}/events`, token),
      );
      closers.push(...(await Promise.all(batch)));
    }
    await sleep(2_000);
    const row: Row = {
      mode,
      baseRss,
      rss: proc.rss(),
      baseRedisClients,
      redisClients: await redisClients(probe),
      baseRedisMemory,
      redisMemory: await redisMemory(),
      afterCloseRedisClients: 0,
    };
    for (const close of closers) close();
    await eventually(
      () => redisClients(probe),
      (n) => n <= baseRedisClients,
      "Redis connections to close",
      {
        timeoutMs: 10_000,
      },
    ).catch(() => {});
    row.afterCloseRedisClients = await redisClients(probe);
    return row;
  } finally {
    await proc.stop();
  }
}

async function redisMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await probe.info("memory"))?.[1] ?? 0);
}
