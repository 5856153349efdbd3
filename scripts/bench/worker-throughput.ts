/**
 * One worker process running the demo agent at full speed (tokensPerSecond 0), measured from the
 * outside: events/s it publishes (its own /metrics counter) and enqueue → first event latency (a
 * pattern subscriber on the threads' channels), with token coalescing off and on.
 *
 * Usage (from the repo root):
 *   pnpm exec tsx --conditions=@threadline/source scripts/bench/worker-throughput.ts \
 *     [--runs 16] [--tokens 5000] [--concurrency 8] [--latency-runs 40] [--coalesce 0,5]
 * Uses REDIS_URL when set, else spawns a redis-server on a free port.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRedisClient, createRunsQueue, keys } from "@threadline/redis";
import { freePort, getTestRedis, startProcess, uniqueId } from "@threadline/testing";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "16" },
    tokens: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "8" },
    "latency-runs": { type: "string", default: "40" },
    coalesce: { type: "string", default: "0,5" },
  },
});
const runs = Number(values.runs);
const tokensPerRun = Number(values.tokens);
const latencyRuns = Number(values["latency-runs"]);
const coalesceValues = values.coalesce.split(",").map(Number);
const workerDir = fileURLToPath(new URL("../../services/worker", import.meta.url));

const redis = await getTestRedis(process.env);
const subscriber = createRedisClient({ url: redis.url }, { name: "bench-worker-sub" });
const benchId = uniqueId("wb");
type Waiter = { first?: (at: number) => void; token?: (at: number) => void; done?: (at: number) => void };
const waiters = new Map<string, Waiter>();
await subscriber.psubscribe(keys.threadChannel(`${benchId}-*`));
subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
  const at = performance.now();
  const waiter = waiters.get(channel);
  if (!waiter) return;
  if (waiter.first) {
    waiter.first(at);
    waiter.first = undefined;
  }
  if (waiter.token && message.includes('"type":"token"')) {
    waiter.token(at);
    waiter.token = undefined;
  }
  if (message.includes('"type":"done"')) waiter.done?.(at);
});

/** Resolves with the arrival times of a thread's first event, first token and done. */
function track(threadId: string) {
  const waiter: Waiter = {};
  const first = new Promise<number>((r) => (waiter.first = r));
  const token = new Promise<number>((r) => (waiter.token = r));
  const done = new Promise<number>((r) => (waiter.done = r));
  waiters.set(keys.threadChannel(threadId), waiter);
  return { first, token, done };
}

async function eventsPublished(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^threadline_worker_events_published_total\{type="\w+"\} (\d+)/gm))
    total += Number(m[1]);
  return total;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const rows: string[] = [];

for (const coalesceMs of coalesceValues) {
  const prefix = `{${uniqueId("wbq")}}`;
  const port = await freePort();
  const worker = await startProcess({
    name: `worker-coalesce-${coalesceMs}`,
    command: process.execPath,
    args: ["--conditions=@threadline/source", "--import", "tsx", "src/main.ts"],
    cwd: workerDir,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      LOG_LEVEL: "warn",
      WORKER_CONCURRENCY: values.concurrency,
      TOKEN_COALESCE_MS: String(coalesceMs),
    },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  const queue = createRunsQueue({ url: redis.url, queuePrefix: prefix }, { name: "bench-queue" });
  const enqueue = (threadId: string, maxTokens: number) =>
    queue.enqueue(
      {
        runId: uniqueId("run"),
        threadId,
        agent: "demo",
        input: { prompt: `bench ${threadId}`, tokensPerSecond: 0, maxTokens },
        owner: "bench",
      },
      { attempts: 1 },
    );

  // Latency: one run at a time on an idle worker (a warm-up first).
  const firsts: number[] = [];
  const firstTokens: number[] = [];
  for (let i = -3; i < latencyRuns; i++) {
    const threadId = `${benchId}-lat-${coalesceMs}-${i + 3}`;
    const t = track(threadId);
    const start = performance.now();
    await enqueue(threadId, 20);
    const [first, token] = await Promise.all([t.first, t.token, t.done]);
    if (i >= 0) {
      firsts.push(first - start);
      firstTokens.push(token - start);
    }
  }
  firsts.sort((a, b) => a - b);
  firstTokens.sort((a, b) => a - b);

  // Throughput: many long runs at once, full speed.
  const before = await eventsPublished(port);
  const threads = Array.from({ length: runs }, (_, i) => `${benchId}-tp-${coalesceMs}-${i}`);
  const dones = threads.map((id) => track(id).done);
  const start = performance.now();
  await Promise.all(threads.map((id) => enqueue(id, tokensPerRun)));
  await Promise.all(dones);
  const seconds = (performance.now() - start) / 1000;
  const events = (await eventsPublished(port)) - before;

  rows.push(
    `| ${coalesceMs} | ${Math.round(events / seconds)} | ${Math.round((runs * tokensPerRun) / seconds)} | ${events} | ` +
      `${pct(firsts, 50).toFixed(1)} / ${pct(firsts, 99).toFixed(1)} | ${pct(firstTokens, 50).toFixed(1)} / ${pct(firstTokens, 99).toFixed(1)} |`,
  );
  await queue.close();
  await worker.stop(5_000);
}

console.log(
  `redis: ${redis.source}; one worker process, WORKER_CONCURRENCY=${values.concurrency}; demo agent at tokensPerSecond 0`,
);
console.log(
  `throughput: ${runs} runs x ${tokensPerRun} tokens at once; latency: ${latencyRuns} sequential runs of 20 tokens`,
);
console.log(
  "| TOKEN_COALESCE_MS | events/s published | tokens/s delivered | events | enqueue→first event ms p50 / p99 | enqueue→first token ms p50 / p99 |",
);
console.log("|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
await subscriber.quit();
await redis.stop();
