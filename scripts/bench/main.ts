/**
 * `pnpm bench [--quick] [--targets a,b] [--scenarios s1,s2,s3,s4,s5] [--s1-rates 5000,10000]
 * [--s2-rates 10,20] [--s3-levels 1000,5000] [--step-ms 5000] [--cpu-prof] [--out dir]`: every target measured in the
 * same run with the same load client; servers pinned to --server-core, Redis to --redis-core, the
 * client (bench.mjs) to core 0. Writes bench/results/<time>.{md,json}.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { freePort } from "@threadline/testing";
import { startBenchRedis } from "./lib/bench-redis.js";
import { runE2eScenario } from "./lib/e2e-scenario.js";
import { runIdleScenario } from "./lib/idle-scenario.js";
import type { PublishFn } from "./lib/paced-publisher.js";
import { FULL, QUICK } from "./lib/plan.js";
import { preflight } from "./lib/preflight.js";
import { pinningAvailable } from "./lib/processes.js";
import type { PublishRates } from "./lib/publish-rate.js";
import { type BenchResults, checkTargets, renderMarkdown } from "./lib/report.js";
import { startService } from "./lib/services.js";
import { runStreamScenario } from "./lib/stream-scenario.js";
import {
  createNchanPublisher,
  nodeTs,
  startTarget,
  TARGETS,
  type Target,
  type TargetKey,
} from "./lib/targets.js";
import { measureWorkerThroughput } from "./lib/worker-throughput.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    targets: { type: "string", default: TARGETS.join(",") },
    scenarios: { type: "string", default: "s1,s2,s3,s4,s5" },
    "server-core": { type: "string", default: "1" },
    "redis-core": { type: "string", default: "0" },
    out: { type: "string", default: "bench/results" },
    "cpu-prof": { type: "boolean", default: false },
    "s1-rates": { type: "string" },
    "s2-rates": { type: "string" },
    "step-ms": { type: "string" },
    "s3-levels": { type: "string" },
  },
});
const plan = structuredClone(values.quick ? QUICK : FULL);
if (values["s1-rates"]) plan.s1.rates = values["s1-rates"].split(",").map(Number);
if (values["s2-rates"]) plan.s2.rates = values["s2-rates"].split(",").map(Number);
if (values["s3-levels"]) plan.s3Levels = values["s3-levels"].split(",").map(Number);
if (values["step-ms"]) plan.s1.stepMs = plan.s2.stepMs = Number(values["step-ms"]);
const targets = values.targets.split(",") as TargetKey[];
for (const t of targets)
  if (!TARGETS.includes(t)) throw new Error(`--targets: unknown target ${t}; use ${TARGETS.join(",")}`);
const scenarios = new Set(values.scenarios.split(","));
const repoRoot = process.cwd();
const runTag = `b${Date.now().toString(36)}`;
const serverCore = core(values["server-core"]);
const token = signDevToken(DEV_JWT_SECRET, { sub: "bench", threads: ["*"], ttlSeconds: 24 * 3600 });

const t0 = performance.now();
const print = console.log;
console.log = (...args: unknown[]) => print(`[${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...args);

const pre = preflight({
  repoRoot,
  needNchan: targets.includes("nchan"),
  needOpenFiles: 2 * Math.max(...plan.s3Levels) + 1000,
});
const started = new Date();
const results: BenchResults = {
  started: started.toISOString(),
  quick: values.quick,
  machine: {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    "load average at start (1/5/15 min)": os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" / "),
    pinning: pinningAvailable()
      ? `servers on core ${values["server-core"]}, Redis on core ${values["redis-core"]}, load client + publisher on core ${process.env.BENCH_CLIENT_CORE ?? "0"}`
      : "none (taskset missing)",
    "open files limit": pre.openFiles,
  },
  notes: pre.notes,
  s1: [],
  s2: [],
  s3: [],
};
for (const note of pre.notes) console.warn(`note: ${note}`);
const tmpDir = mkdtempSync(join(os.tmpdir(), "threadline-bench-"));
const redis = await startBenchRedis(core(values["redis-core"]));
const pubClient = createRedisClient({ url: redis.url }, { name: "bench-publisher" });
const scriptPublisher = createEventPublisher(pubClient, { logMaxLen: 1_000, logTtlSeconds: 600 });
const publishScript: PublishFn = (thread, content) =>
  scriptPublisher.publish({ threadId: thread, runId: "bench" }, { type: "token", content });

try {
  // The full run measures idle memory on a fresh process; --quick reuses the one S1/S2 used.
  const idleOnSameProcess = values.quick;
  const s3 = scenarios.has("s3");
  if (scenarios.has("s1") || scenarios.has("s2") || (idleOnSameProcess && s3)) {
    for (const key of targets) {
      const target = await start(key);
      const publish = target.publishVia === "nchan" ? createNchanPublisher(target) : publishScript;
      try {
        if (scenarios.has("s1"))
          results.s1.push(await runStreamScenario(plan.s1, target, publish, `${runTag}-${key}-s1`));
        if (scenarios.has("s2"))
          results.s2.push(await runStreamScenario(plan.s2, target, publish, `${runTag}-${key}-s2`));
        if (idleOnSameProcess && s3)
          results.s3.push(await runIdleScenario(target, redis, plan.s3Levels, `${runTag}-${key}-s3`));
      } finally {
        await target.stop();
      }
    }
  }
  if (!idleOnSameProcess && s3) {
    for (const key of targets) {
      const target = await start(key);
      try {
        results.s3.push(await runIdleScenario(target, redis, plan.s3Levels, `${runTag}-${key}-s3`));
      } finally {
        await target.stop();
      }
    }
  }
  if (scenarios.has("s4")) {
    console.log("S4: gateway (dedicated) + api + worker");
    const gateway = await start("dedicated");
    const env = { repoRoot, redisUrl: redis.url, core: serverCore };
    const api = await startService("api", env);
    try {
      // The worker's default TOKEN_COALESCE_MS (5) holds the first token up to 5 ms; 0 shows the path without it.
      for (const coalesce of ["default", "0"]) {
        const worker = await startService(
          "worker",
          coalesce === "0" ? { ...env, env: { TOKEN_COALESCE_MS: "0" } } : env,
        );
        try {
          const outcome = await runE2eScenario({
            apiUrl: api.url,
            gatewayUrl: gateway.sseUrl("x").replace(/\/v1\/.*/, ""),
            token,
            runs: plan.s4Runs,
            tokensPerSecond: 0,
            maxTokens: 64,
            tag: `${runTag}-s4-${coalesce}`,
          });
          if (coalesce === "0") results.s4NoCoalescing = outcome;
          else results.s4 = outcome;
          console.log(
            `  S4 (TOKEN_COALESCE_MS=${coalesce}) POST → first token p50 ${outcome.firstTokenMs.p50} ms, pickup p50 ${outcome.queuePickupMs.p50} ms`,
          );
        } finally {
          await worker.proc.stop();
        }
      }
    } finally {
      await Promise.all([gateway.stop(), api.proc.stop()]);
    }
  }
  if (scenarios.has("s5")) {
    console.log("S5: publish throughput of one process");
    const rates = await publishProcess(plan.s5Events);
    results.s5 = { process: rates };
    console.log(
      `  S5 script: ${rates.sequentialPerSec}/s one at a time, ${rates.pipelinedPerSec}/s pipelined`,
    );
    results.s5.worker = [];
    for (const coalesceMs of values.quick ? [0] : [0, 5]) {
      const w = await measureWorkerThroughput({
        repoRoot,
        redisUrl: redis.url,
        core: serverCore,
        token,
        runs: values.quick ? 16 : 64,
        tokensPerRun: values.quick ? 500 : 2_000,
        coalesceMs,
        tag: `${runTag}-s5-${coalesceMs}`,
      });
      results.s5.worker.push(w);
      console.log(
        `  S5 worker (TOKEN_COALESCE_MS=${coalesceMs}): ${w.eventsPerSec} events/s, ${w.tokensPerSec} tokens/s`,
      );
    }
  }
} finally {
  await closeRedisClient(pubClient);
  await redis.stop();
  rmSync(tmpDir, { recursive: true, force: true });
}

results.finished = new Date().toISOString();
results.machine["load average at end (1/5/15 min)"] = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(" / ");
results.checks = checkTargets(results);
const markdown = renderMarkdown(results);
mkdirSync(values.out, { recursive: true });
const stamp = started.toISOString().replace(/[:.]/g, "-");
const base = join(values.out, `${stamp}${values.quick ? "-quick" : ""}`);
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${base}.md`, markdown);
process.stdout.write(`\n${markdown}\n`);
console.log(`written: ${base}.md and ${base}.json`);
// Keep-alive agents and the like must not hold the command open once the results are written.
process.exit(0);

async function start(key: TargetKey): Promise<Target> {
  console.log(`starting ${key}`);
  return startTarget(key, {
    repoRoot,
    redisUrl: redis.url,
    tmpDir,
    nchanModule: pre.nchanModule ?? "",
    core: serverCore ?? 1,
    port: await freePort(),
    ...(values["cpu-prof"] ? { cpuProfDir: resolve(repoRoot, values.out, "profiles") } : {}),
  });
}

/** Runs publish-throughput.ts as its own process on the server core: "one worker process". */
async function publishProcess(events: number): Promise<PublishRates> {
  const args = [...nodeTs("scripts/bench/publish-throughput.ts"), "--events", String(events), "--json"];
  const [cmd, argv] =
    serverCore !== undefined && pinningAvailable()
      ? ["taskset", ["-c", String(serverCore), process.execPath, ...args]]
      : [process.execPath, args];
  const { stdout } = await promisify(execFile)(cmd, argv as string[], {
    cwd: repoRoot,
    env: { ...process.env, REDIS_URL: redis.url },
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as PublishRates;
}

function core(value: string): number | undefined {
  return value === "none" ? undefined : Number(value);
}
