/**
 * Recovery figures for docs/RELIABILITY.md: each fault injected `--runs` times into a real stack
 * (own Redis with AOF, two gateways, one API, two workers) while a resuming SSE client watches a
 * demo run. Per fault: events lost and duplicated (client vs replay log) and the recovery time.
 *
 *   pnpm bench:recovery            # 5 runs per fault
 *   pnpm bench:recovery --runs 20
 */
import { Redis } from "ioredis";
import {
  BEARER,
  type FaultStack,
  HEARTBEAT_TIMEOUT_MS,
  readThreadLog,
  startDemoRun,
  startFaultStack,
} from "../../tests/faults/support/fault-stack.js";
import { type ResumingClient, startResumingClient } from "../../tests/faults/support/resuming-client.js";

interface Sample {
  lost: number;
  dup: number;
  seqOk: boolean;
  recoveryMs: number;
}

type Fault = (
  stack: FaultStack,
  client: ResumingClient,
  urls: string[],
) => Promise<{ t0: number; after: number }>;

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const RUN_INPUT = { prompt: "recovery", tokensPerSecond: 25, maxTokens: 80 };

const FAULTS: Record<string, { what: string; fault: Fault }> = {
  "gateway SIGTERM": {
    what: "SIGTERM to the first event on the next gateway's connection",
    async fault(stack, client) {
      const victim = stack.gateways.shift()!;
      const t0 = Date.now();
      const connection = client.connections.length;
      await victim.process.stop(15_000);
      await client.untilDone(60_000);
      const after = client.receivedOn.findIndex((c) => c >= connection);
      stack.gateways.push(...(await stack.addGateway()).gateways);
      return { t0, after };
    },
  },
  "gateway half-open (SIGSTOP)": {
    what: `first event after the gateway froze (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`,
    async fault(stack, client) {
      const victim = stack.gateways.shift()!;
      const t0 = Date.now();
      const after = client.events.length;
      process.kill(victim.process.pid, "SIGSTOP");
      await client.untilEvents(after + 1, 30_000);
      await victim.process.kill("SIGKILL");
      stack.gateways.push(...(await stack.addGateway()).gateways);
      return { t0, after };
    },
  },
  "CLIENT KILL TYPE pubsub": {
    what: "first event after the subscriber connections were killed",
    async fault(stack, client) {
      const admin = new Redis(stack.redis.url);
      const t0 = Date.now();
      const after = client.events.length;
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      admin.disconnect();
      return { t0, after };
    },
  },
  "Redis crash + restart (AOF)": {
    what: "first event after redis-server was started again (it was down ~500 ms)",
    async fault(stack, client) {
      await stack.redis.stop(true);
      await new Promise((r) => setTimeout(r, 500));
      const after = client.events.length;
      const t0 = Date.now();
      await stack.redis.start();
      return { t0, after };
    },
  },
  "worker SIGKILL": {
    what: "`status retrying` after the kill (stalled check every 1 s, lock 2 s)",
    async fault(stack, client) {
      const holder = await findHolder(stack);
      const t0 = Date.now();
      await holder.process.kill("SIGKILL");
      stack.workers.splice(stack.workers.indexOf(holder), 1);
      const deadline = Date.now() + 30_000;
      while (!client.events.some((e) => (e.content as { state?: string })?.state === "retrying")) {
        if (Date.now() > deadline) throw new Error("no retrying status");
        await new Promise((r) => setTimeout(r, 20));
      }
      const index = client.events.findIndex((e) => (e.content as { state?: string })?.state === "retrying");
      stack.workers.push(...(await stack.addWorker()).workers);
      return { t0, after: index };
    },
  },
};

async function findHolder(stack: FaultStack) {
  for (const w of stack.workers) {
    const text = await (await fetch(`${w.url}/metrics`)).text();
    if (/threadline_worker_active_runs(?:\{[^}]*\})? 1\b/.test(text)) return w;
  }
  return stack.workers[0]!;
}

async function measure(stack: FaultStack, name: string, fault: Fault, i: number): Promise<Sample> {
  const threadId = `recovery-${name.replace(/\W+/g, "-")}-${i}-${Date.now()}`;
  const urls = stack.gateways.map((g) => g.url);
  const client = startResumingClient({
    urls,
    threadId,
    authorization: BEARER,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
  });
  try {
    const runId = await startDemoRun(stack.api.url, threadId, RUN_INPUT);
    await client.untilEvents(8, 60_000);
    const { t0, after } = await fault(stack, client, urls);
    await client.untilDone(90_000);
    const recoveryMs = (client.receivedAt[after] ?? Number.NaN) - t0;
    const log = await readThreadLog(stack.api.url, threadId);
    const got = client.events.map((e) => e.id);
    const unique = new Set(got);
    const seqs = client.events.filter((e) => e.runId === runId).map((e) => e.seq);
    return {
      lost: log.filter((e) => !unique.has(e.id)).length,
      dup: got.length - unique.size,
      seqOk: seqs.every((s, k) => s === k + 1),
      recoveryMs,
    };
  } finally {
    client.close();
  }
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

const stack = await startFaultStack({ gateways: 2, workers: 2, appendOnly: true });
try {
  console.log(`| fault | runs | lost | duplicated | seq 1…n | recovery p50 | p95 | measured as |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
  for (const [name, { what, fault }] of Object.entries(FAULTS)) {
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) samples.push(await measure(stack, name, fault, i));
    const rec = samples.map((s) => s.recoveryMs);
    const sum = (k: "lost" | "dup") => samples.reduce((n, s) => n + s[k], 0);
    console.log(
      `| ${name} | ${RUNS} | ${sum("lost")} | ${sum("dup")} | ${samples.every((s) => s.seqOk) ? "yes" : "NO"} | ${Math.round(pct(rec, 50))} ms | ${Math.round(pct(rec, 95))} ms | ${what} |`,
    );
  }
} finally {
  await stack.stop();
}
