/**
 * What one connection carrying many threads costs against one connection per thread (issue 19):
 * gateway RSS and Redis connections for N threads as N single-thread SSE streams, ONE multiplexed SSE
 * stream (`/v1/events?threads=`) and ONE WebSocket (`/v1/ws`); then the gateway's CPU per delivered
 * event on each transport while every thread receives events.
 *
 *   pnpm bench:multiplex [--threads 100] [--events 20000]
 *
 * Each case runs in a fresh gateway process (dedicated subscriber mode; the built dist/main.js when
 * present, else src through tsx) against its own redis-server; RSS from /proc/<pid>/status, CPU from
 * /proc/<pid>/stat (utime + stime), Redis connections from INFO clients.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { createEventPublisher } from "@threadline/redis";
import { eventually, startRedisServer } from "@threadline/testing";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { scriptArgs } from "./lib/cli-args.js";
import { gatewaySource, openSse, redisClients, startCostGateway } from "./lib/cost-gateway.js";

const { values } = parseArgs({
  args: scriptArgs(),
  options: { threads: { type: "string", default: "100" }, events: { type: "string", default: "20000" } },
});
const THREADS = Number(values.threads);
const EVENTS = Number(values.events);
const token = signDevToken(DEV_JWT_SECRET, { sub: "bench", threads: ["*"] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

type Case = "sse-per-thread" | "sse-multiplexed" | "websocket";
interface Row {
  name: Case;
  baseRss: number;
  rss: number;
  redisConns: number;
  cpuUsPerEvent: number;
  delivered: number;
}

const redis = await startRedisServer();
const probe = new Redis(redis.url);
const rows: Row[] = [];
try {
  for (const name of ["sse-per-thread", "sse-multiplexed", "websocket"] as const)
    rows.push(await measure(name));
} finally {
  probe.disconnect();
  await redis.dispose();
}

console.log(
  `\n${THREADS} threads, ${EVENTS} events spread over them; gateway from ${gatewaySource}, SUBSCRIBER_MODE=dedicated; Node ${process.version}; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}\n`,
);
console.log(
  "| transport | connections | gateway RSS (empty → open) | RSS added | Redis conns added | gateway CPU per delivered event |",
);
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.name === "sse-per-thread" ? THREADS : 1} | ${mib(r.baseRss)} → ${mib(r.rss)} MiB | ${mib(r.rss - r.baseRss)} MiB | ${r.redisConns} | ${r.cpuUsPerEvent.toFixed(1)} µs (${r.delivered} delivered) |`,
  );
}

async function measure(name: Case): Promise<Row> {
  const { proc, url: base } = await startCostGateway({ PATH: process.env.PATH }, redis.url, {
    SUBSCRIBER_MODE: "dedicated",
    MAX_STREAMS_PER_SUBJECT: String(THREADS + 10),
    MAX_THREADS_PER_CONNECTION: String(THREADS),
    SSE_MAX_BUFFER_BYTES: String(64 * 1024 * 1024),
  });
  const closers: (() => void)[] = [];
  try {
    const baseRss = proc.rss();
    const baseConns = await redisClients(probe);
    const threads = Array.from({ length: THREADS }, (_, i) => `${name}-${i}`);
    let delivered = 0;
    const count = () => {
      delivered += 1;
    };
    if (name === "sse-per-thread") {
      for (let i = 0; i < THREADS; i += 25) {
        const batch = threads
          .slice(i, i + 25)
          .map((t) => openSse(`${base}/v1/threads/${t}/events`, token, count));
        closers.push(...(await Promise.all(batch)));
      }
    } else if (name === "sse-multiplexed") {
      closers.push(await openSse(`${base}/v1/events?threads=${threads.join(",")}`, token, count));
    } else {
      closers.push(await openWs(`${base.replace("http", "ws")}/v1/ws`, threads, count));
    }
    await sleep(2_000);
    const row: Row = {
      name,
      baseRss,
      rss: proc.rss(),
      redisConns: (await redisClients(probe)) - baseConns,
      cpuUsPerEvent: 0,
      delivered: 0,
    };
    const publisher = createEventPublisher(probe, { logMaxLen: 1_000, logTtlSeconds: 600 });
    const cpuBefore = proc.cpuMs();
    for (let i = 0; i < EVENTS; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, EVENTS - i) }, (_, j) =>
          publisher.publish(
            { threadId: threads[(i + j) % THREADS] as string, runId: "r" },
            { type: "token", content: `token ${i + j} of the benchmark` },
          ),
        ),
      );
    }
    await eventually(
      async () => delivered,
      (n) => n >= EVENTS,
      "every event delivered",
      { timeoutMs: 120_000 },
    ).catch(() => {});
    row.delivered = delivered;
    row.cpuUsPerEvent = ((proc.cpuMs() - cpuBefore) * 1_000) / Math.max(1, delivered);
    return row;
  } finally {
    for (const close of closers) close();
    await proc.stop();
  }
}

/** Opens a WebSocket, subscribes every thread, resolves once all are confirmed; counts event frames. */
function openWs(url: string, threads: string[], onEvent: () => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    let subscribed = 0;
    socket.once("error", reject);
    socket.once("open", () => {
      for (const threadId of threads) socket.send(JSON.stringify({ type: "subscribe", threadId }));
    });
    socket.on("message", (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('{"type":"event"')) return onEvent();
      if (text.startsWith('{"type":"subscribed"') && ++subscribed === threads.length) {
        resolve(() => socket.terminate());
      }
    });
  });
}
