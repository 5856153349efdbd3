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
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { eventually, freePort, startRedisServer, waitForHttp } from "@threadline/testing";
import { Redis } from "ioredis";

const { values } = parseArgs({
  options: { connections: { type: "string", default: "1000" }, threads: { type: "string" } },
});
const connections = Number(values.connections);
const threads = Number(values.threads ?? values.connections);
const gatewayDir = fileURLToPath(new URL("../../services/gateway/", import.meta.url));
const built = existsSync(`${gatewayDir}dist/main.js`);

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
  `\n${connections} idle SSE streams on ${threads} threads; gateway from ${built ? "dist (node)" : "src (tsx)"}; Node ${process.version}\n`,
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
  const port = await freePort();
  const args = built
    ? ["dist/main.js"]
    : ["--conditions=@threadline/source", "--import", "tsx", "src/main.ts"];
  const child = spawn(process.execPath, args, {
    cwd: gatewayDir,
    env: {
      PATH: process.env.PATH ?? "",
      REDIS_URL: redis.url,
      PORT: String(port),
      SUBSCRIBER_MODE: mode,
      LOG_LEVEL: "warn",
      MAX_STREAMS_PER_SUBJECT: String(connections + 10),
      MAX_CONNECTIONS: String(connections + 10),
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/readyz`, 30_000);
    await sleep(1_000);
    const baseRss = rss(child);
    const baseRedisClients = await redisClients();
    const baseRedisMemory = await redisMemory();

    const token = signDevToken(DEV_JWT_SECRET, { sub: "bench", threads: ["*"] });
    const open: http.ClientRequest[] = [];
    for (let i = 0; i < connections; i += 100) {
      const batch = Array.from({ length: Math.min(100, connections - i) }, (_, j) =>
        openIdle(`${base}/v1/threads/idle-${(i + j) % threads}/events`, token),
      );
      open.push(...(await Promise.all(batch)));
    }
    await sleep(2_000);
    const row: Row = {
      mode,
      baseRss,
      rss: rss(child),
      baseRedisClients,
      redisClients: await redisClients(),
      baseRedisMemory,
      redisMemory: await redisMemory(),
      afterCloseRedisClients: 0,
    };
    for (const request of open) request.destroy();
    await eventually(redisClients, (n) => n <= baseRedisClients, "Redis connections to close", {
      timeoutMs: 10_000,
    }).catch(() => {});
    row.afterCloseRedisClients = await redisClients();
    return row;
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

/** Opens a stream and resolves once its 200 and `retry:` line arrived; the response is then left idle. */
function openIdle(url: string, token: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { authorization: `Bearer ${token}` } });
    request.once("error", reject);
    request.once("response", (response) => {
      if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode} for ${url}`));
      response.once("data", () => resolve(request));
      response.on("data", () => {});
    });
  });
}

function rss(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function redisClients(): Promise<number> {
  // Minus our own probe connection.
  return Number(/connected_clients:(\d+)/.exec(await probe.info("clients"))?.[1] ?? 0) - 1;
}

async function redisMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await probe.info("memory"))?.[1] ?? 0);
}
