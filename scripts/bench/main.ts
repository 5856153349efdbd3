/**
 * `pnpm bench [--quick] [--targets a,b] [--scenarios s1,s2,s3,s4,s5]`: every target measured in the
 * same run with the same load client; servers pinned to --server-core, Redis to --redis-core.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { freePort } from "@threadline/testing";
import { startBenchRedis } from "./lib/bench-redis.js";
import type { PublishFn } from "./lib/paced-publisher.js";
import { FULL, QUICK } from "./lib/plan.js";
import { preflight } from "./lib/preflight.js";
import { runStreamScenario, type StreamOutcome } from "./lib/stream-scenario.js";
import { createNchanPublisher, startTarget, TARGETS, type Target, type TargetKey } from "./lib/targets.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    targets: { type: "string", default: TARGETS.join(",") },
    scenarios: { type: "string", default: "s1,s2,s3,s4,s5" },
    "server-core": { type: "string", default: "1" },
    "redis-core": { type: "string", default: "0" },
  },
});
const plan = values.quick ? QUICK : FULL;
const targets = values.targets.split(",") as TargetKey[];
for (const t of targets)
  if (!TARGETS.includes(t)) throw new Error(`--targets: unknown target ${t}; use ${TARGETS.join(",")}`);
const scenarios = new Set(values.scenarios.split(","));
const repoRoot = process.cwd();
const runTag = `b${Date.now().toString(36)}`;

const pre = preflight({
  repoRoot,
  needNchan: targets.includes("nchan"),
  needOpenFiles: 2 * Math.max(...plan.s3Levels) + 1000,
});
for (const note of pre.notes) console.warn(`note: ${note}`);
const tmpDir = mkdtempSync(join(tmpdir(), "threadline-bench-"));
const redis = await startBenchRedis(core(values["redis-core"]));
const pubClient = createRedisClient({ url: redis.url }, { name: "bench-publisher" });
const scriptPublisher = createEventPublisher(pubClient, { logMaxLen: 1_000, logTtlSeconds: 600 });
const publishScript: PublishFn = (thread, content) =>
  scriptPublisher.publish({ threadId: thread, runId: "bench" }, { type: "token", content });

const started = new Date();
const results: { s1: StreamOutcome[]; s2: StreamOutcome[] } = { s1: [], s2: [] };
try {
  if (scenarios.has("s1") || scenarios.has("s2")) {
    for (const key of targets) {
      const target = await start(key);
      const publish = target.publishVia === "nchan" ? createNchanPublisher(target) : publishScript;
      try {
        if (scenarios.has("s1"))
          results.s1.push(await runStreamScenario(plan.s1, target, publish, `${runTag}-${key}-s1`));
        if (scenarios.has("s2"))
          results.s2.push(await runStreamScenario(plan.s2, target, publish, `${runTag}-${key}-s2`));
      } finally {
        await target.stop();
      }
    }
  }
  console.log(JSON.stringify({ started, results }, null, 1).slice(0, 3000));
} finally {
  await closeRedisClient(pubClient);
  await redis.stop();
  rmSync(tmpDir, { recursive: true, force: true });
}

async function start(key: TargetKey): Promise<Target> {
  console.log(`starting ${key}`);
  return startTarget(key, {
    repoRoot,
    redisUrl: redis.url,
    tmpDir,
    nchanModule: pre.nchanModule ?? "",
    core: core(values["server-core"]) ?? 1,
    port: await freePort(),
  });
}

function core(value: string): number | undefined {
  return value === "none" ? undefined : Number(value);
}
