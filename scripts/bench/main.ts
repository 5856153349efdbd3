/**
 * `pnpm bench [--quick] [--targets a,b] [--scenarios s1,s2,s3,s4,s5] [--publishers raw,script]
 * [--s1-rates 5000,10000] [--s2-rates 10,20] [--s3-levels 1000,5000] [--step-ms 5000] [--cpu-prof]
 * [--gateway-node-args "--trace-gc"] [--gateway-dist] [--baseline <git ref|checkout>] [--s4-rounds n] [--s5-rounds n]
 * [--s5-coalesce 0,5] [--out dir]`: every target
 * measured in the same run with the same load client; servers pinned to --server-core, Redis to
 * --redis-core, the client (bench.mjs) to core 0. Writes bench/results/<time>.{md,json}.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { freePort } from "@threadline/testing";
import { prepareBaseline } from "./lib/baseline.js";
import { startBenchRedis } from "./lib/bench-redis.js";
import { type BenchResults, checkTargets } from "./lib/checks.js";
import { runS4 } from "./lib/e2e-scenario.js";
import { runIdleScenario } from "./lib/idle-scenario.js";
import type { PublishFn } from "./lib/paced-publisher.js";
import { FULL, QUICK } from "./lib/plan.js";
import { preflight } from "./lib/preflight.js";
import { pinningAvailable } from "./lib/processes.js";
import type { PublishRates } from "./lib/publish-rate.js";
import { createRawPublisher } from "./lib/raw-publisher.js";
import { renderMarkdown } from "./lib/report.js";
import { runStreamScenario } from "./lib/stream-scenario.js";
import {
  BASELINE_TARGETS,
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
    targets: { type: "string" },
    publishers: { type: "string", default: "raw,script" },
    baseline: { type: "string" },
    "gateway-node-args": { type: "string" },
    /** Run the gateways from their tsc build (`pnpm build` first): profiles keep line numbers. */
    "gateway-dist": { type: "boolean", default: false },
    scenarios: { type: "string", default: "s1,s2,s3,s4,s5" },
    "server-core": { type: "string", default: "1" },
    "redis-core": { type: "string", default: "0" },
    out: { type: "string", default: "bench/results" },
    "cpu-prof": { type: "boolean", default: false },
    "s1-rates": { type: "string" },
    "s2-rates": { type: "string" },
    "step-ms": { type: "string" },
    "s3-levels": { type: "string" },
    "s4-rounds": { type: "string", default: "1" },
    "s5-rounds": { type: "string", default: "1" },
    "s5-coalesce": { type: "string" },
  },
});
const plan = structuredClone(values.quick ? QUICK : FULL);
if (values["s1-rates"]) plan.s1.rates = values["s1-rates"].split(",").map(Number);
if (values["s2-rates"]) plan.s2.rates = values["s2-rates"].split(",").map(Number);
if (values["s3-levels"]) plan.s3Levels = values["s3-levels"].split(",").map(Number);
if (values["step-ms"]) plan.s1.stepMs = plan.s2.stepMs = Number(values["step-ms"]);
const allTargets: readonly string[] = [...TARGETS, ...BASELINE_TARGETS];
// With a baseline, each gateway runs right after its baseline twin and before its floor.
const defaultTargets = values.baseline
  ? ["dedicated@base", "dedicated", "floorA", "shared@base", "shared", "floorB", "nchan"]
  : [...TARGETS];
const targets = (values.targets?.split(",") ?? defaultTargets) as TargetKey[];
for (const t of targets)
  if (!allTargets.includes(t)) throw new Error(`--targets: unknown target ${t}; use ${allTargets.join(",")}`);
const publishers = values.publishers.split(",");
for (const p of publishers)
  if (p !== "raw" && p !== "script") throw new Error(`--publishers: unknown publisher ${p}; use raw,script`);
const scenarios = new Set(values.scenarios.split(","));
const repoRoot = process.cwd();
if (values["gateway-dist"] && !existsSync(join(repoRoot, "services/gateway/dist/main.js")))
  throw new Error("--gateway-dist runs services/gateway/dist/main.js: run `pnpm build` first");
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
  s4: [],
};
for (const note of pre.notes) console.warn(`note: ${note}`);
const tmpDir = mkdtempSync(join(os.tmpdir(), "threadline-bench-"));
const redis = await startBenchRedis(core(values["redis-core"]));
const pubClient = createRedisClient({ url: redis.url }, { name: "bench-publisher" });
const scriptPublisher = createEventPublisher(pubClient, { logMaxLen: 1_000, logTtlSeconds: 600 });
const publishScript: PublishFn = (thread, content) =>
  scriptPublisher.publish({ threadId: thread, runId: "bench" }, { type: "token", content });
const rawPublisher = createRawPublisher(redis.url);
const baseline = values.baseline ? await prepareBaseline(repoRoot, values.baseline, tmpDir) : undefined;
if (baseline) results.machine.baseline = baseline.description;

try {
  // The full run measures idle memory on a fresh process; --quick reuses the one S1/S2 used.
  const idleOnSameProcess = values.quick;
  const s3 = scenarios.has("s3");
  if (scenarios.has("s1") || scenarios.has("s2") || (idleOnSameProcess && s3)) {
    for (const key of targets) {
      const target = await start(key);
      // Nchan has its own HTTP publisher; every other target gets each --publishers ramp in turn.
      const ramps =
        target.publishVia === "nchan"
          ? [{ name: "nchan", publish: createNchanPublisher(target), s1: plan.s1, s2: plan.s2 }]
          : publishers.map((name) =>
              name === "raw"
                ? { name, publish: rawPublisher.publish, s1: plan.s1, s2: plan.s2 }
                : {
                    name,
                    publish: publishScript,
                    s1: { ...plan.s1, rates: plan.scriptRates.s1 },
                    s2: { ...plan.s2, rates: plan.scriptRates.s2 },
                  },
            );
      try {
        for (const ramp of ramps) {
          const tag = `${runTag}-${key.replace("@", "-")}-${ramp.name}`;
          if (scenarios.has("s1"))
            results.s1.push(await runStreamScenario(ramp.s1, target, ramp, `${tag}-s1`));
          if (scenarios.has("s2"))
            results.s2.push(await runStreamScenario(ramp.s2, target, ramp, `${tag}-s2`));
        }
        if (idleOnSameProcess && s3)
          results.s3.push(
            await runIdleScenario(target, redis, plan.s3Levels, `${runTag}-${key.replace("@", "-")}-s3`),
          );
      } finally {
        await target.stop();
      }
    }
  }
  if (!idleOnSameProcess && s3) {
    for (const key of targets) {
      const target = await start(key);
      try {
        results.s3.push(
          await runIdleScenario(target, redis, plan.s3Levels, `${runTag}-${key.replace("@", "-")}-s3`),
        );
      } finally {
        await target.stop();
      }
    }
  }
  // S4 and S5 run this checkout's services and, with --baseline, the baseline's right after.
  const codes = [
    { code: "this", root: repoRoot },
    ...(baseline ? [{ code: "base", root: baseline.root }] : []),
  ];
  if (scenarios.has("s4")) {
    console.log("S4: gateway (dedicated) + api + worker");
    const gateway = await start("dedicated");
    try {
      // With a baseline, rounds alternate the order (this, base, base, this, …): S4 is a latency
      // measured minutes apart, and the machine's load drifts in between.
      const rounds = Number(values["s4-rounds"]);
      const order = Array.from({ length: rounds }, (_, i) =>
        i % 2 === 0 ? codes : [...codes].reverse(),
      ).flat();
      for (const { code, root } of order) {
        results.s4.push(
          ...(await runS4({
            repoRoot: root,
            parentEnv: process.env,
            redisUrl: redis.url,
            core: serverCore,
            gatewayUrl: gateway.sseUrl("x").replace(/\/v1\/.*/, ""),
            token,
            runs: plan.s4Runs,
            code,
            tag: `${runTag}-s4-${code}`,
          })),
        );
      }
    } finally {
      await gateway.stop();
    }
  }
  if (scenarios.has("s5")) {
    console.log("S5: publish throughput of one process");
    results.s5 = { process: [], worker: [] };
    for (const { code, root } of codes) {
      const rates = await publishProcess(root, plan.s5Events);
      results.s5.process.push({ code, ...rates });
      console.log(
        `  S5 script (${code}): ${rates.sequentialPerSec}/s one at a time, ${rates.pipelinedPerSec}/s pipelined`,
      );
    }
    const coalesceValues = values["s5-coalesce"]?.split(",").map(Number) ?? (values.quick ? [0] : [0, 5]);
    // Like S4: with a baseline, rounds alternate the order (this, base, base, this, …).
    const rounds = Number(values["s5-rounds"]);
    const order = Array.from({ length: rounds }, (_, i) =>
      i % 2 === 0 ? codes : [...codes].reverse(),
    ).flat();
    for (const coalesceMs of coalesceValues) {
      for (const [i, { code, root }] of order.entries()) {
        const w = await measureWorkerThroughput({
          repoRoot: root,
          parentEnv: process.env,
          redisUrl: redis.url,
          core: serverCore,
          token,
          runs: values.quick ? 16 : 64,
          tokensPerRun: values.quick ? 500 : 2_000,
          coalesceMs,
          tag: `${runTag}-s5-${code}-${coalesceMs}-${i}`,
          redisPid: redis.pid,
        });
        results.s5.worker.push({ code, ...w });
        console.log(
          `  S5 worker (${code}, TOKEN_COALESCE_MS=${coalesceMs}): ${w.eventsPerSec} events/s, ${w.tokensPerSec} tokens/s; worker ${w.workerCpuUsPerEvent} µs CPU/event (${w.workerCpuPercent} % core), Redis ${w.redisCpuUsPerEvent} µs/event (${w.redisCpuPercent} % core); bench subscriber ${w.subscriberCpuPercent} % core`,
        );
      }
    }
  }
} finally {
  rawPublisher.close();
  await closeRedisClient(pubClient);
  await baseline?.remove();
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
    parentEnv: process.env,
    redisUrl: redis.url,
    tmpDir,
    nchanModule: pre.nchanModule ?? "",
    core: serverCore ?? 1,
    port: await freePort(),
    ...(values["cpu-prof"] ? { cpuProfDir: resolve(repoRoot, values.out, "profiles") } : {}),
    ...(values["gateway-node-args"] ? { gatewayNodeArgs: values["gateway-node-args"].split(" ") } : {}),
    gatewayDist: values["gateway-dist"],
    ...(baseline ? { baselineRoot: baseline.root } : {}),
  });
}

/** Runs publish-throughput.ts as its own process on the server core: "one worker process". */
async function publishProcess(root: string, events: number): Promise<PublishRates> {
  const args = [...nodeTs("scripts/bench/publish-throughput.ts"), "--events", String(events), "--json"];
  const [cmd, argv] =
    serverCore !== undefined && pinningAvailable()
      ? ["taskset", ["-c", String(serverCore), process.execPath, ...args]]
      : [process.execPath, args];
  const { stdout } = await promisify(execFile)(cmd, argv as string[], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redis.url },
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as PublishRates;
}

function core(value: string): number | undefined {
  return value === "none" ? undefined : Number(value);
}
