/**
 * Where POST → first token goes (issue 16 item 4): S4's setup (gateway, API and worker on the server
 * core; Redis and this client on the other), with every event's arrival at the SSE client recorded
 * per run, and, with `--monitor`, every Redis command's arrival (MONITOR's server clock, the same
 * wall clock as this process) in the same timeline. Prints the p50 of each step after the POST.
 *
 * `node --conditions=@threadline/source --import tsx scripts/bench/first-token-timeline.ts
 *   [--runs 30] [--roots .,/path/to/other/checkout] [--rounds 1] [--monitor] [--cpu-prof dir]`
 *
 * With several roots, rounds alternate their order (a, b, b, a, …) like `pnpm bench`'s S4.
 */
import http from "node:http";
import os from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { freePort } from "@threadline/testing";
import { Redis } from "ioredis";
import { startBenchRedis } from "./lib/bench-redis.js";
import { scriptArgs } from "./lib/cli-args.js";
import { post } from "./lib/e2e-scenario.js";
import { startService } from "./lib/services.js";
import { createSseDataReader } from "./lib/sse-parse.js";
import { startTarget } from "./lib/targets.js";

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: "string", default: "30" },
    roots: { type: "string", default: "." },
    rounds: { type: "string", default: "1" },
    monitor: { type: "boolean", default: false },
    /** Also print this many single runs, step by step. */
    "show-runs": { type: "string" },
    /** Extra environment for the worker, per root in --roots order: "A=1;B=2,C=3" (";" between variables). */
    "worker-env": { type: "string" },
    "cpu-prof": { type: "string" },
    "server-core": { type: "string", default: "1" },
    "redis-core": { type: "string", default: "0" },
  },
});
const runs = Number(values.runs);
const roots = values.roots.split(",").map((r) => resolve(r));
const serverCore = Number(values["server-core"]);
/** Wall clock in µs with sub-ms resolution (MONITOR stamps commands with the server's wall clock). */
const wallUs = () => (performance.timeOrigin + performance.now()) * 1000;
/** The caller's token: a subject per round, so many rounds stay within the API's per-subject run limit. */
const headers = { authorization: "" };
const useSubject = (sub: string) => {
  const token = signDevToken(DEV_JWT_SECRET, { sub, threads: ["*"], ttlSeconds: 24 * 3600 });
  headers.authorization = `Bearer ${token}`;
};

const redis = await startBenchRedis(Number(values["redis-core"]));
try {
  const gateway = await startTarget("dedicated", {
    repoRoot: roots[0] as string,
    parentEnv: process.env,
    redisUrl: redis.url,
    tmpDir: "/tmp",
    nchanModule: "",
    core: serverCore,
    port: await freePort(),
  });
  const gatewayUrl = gateway.sseUrl("x").replace(/\/v1\/.*/, "");
  try {
    const indexes = roots.map((_, i) => i);
    const order = Array.from({ length: Number(values.rounds) }, (_, i) =>
      i % 2 === 0 ? indexes : [...indexes].reverse(),
    ).flat();
    for (const [round, which] of order.entries()) {
      const root = roots[which] as string;
      useSubject(`bench-${round}`);
      const prof = (service: string) =>
        values["cpu-prof"]
          ? {
              nodeArgs: [
                "--cpu-prof",
                "--cpu-prof-interval",
                "100",
                "--cpu-prof-dir",
                resolve(values["cpu-prof"], `${round}-${service}`),
              ],
            }
          : {};
      const env = { repoRoot: root, parentEnv: process.env, redisUrl: redis.url, core: serverCore };
      const api = await startService("api", { ...env, ...prof("api") });
      const workerEnv = Object.fromEntries(
        (values["worker-env"]?.split(",")[which] ?? "")
          .split(";")
          .filter(Boolean)
          .map((pair) => pair.split("=") as [string, string]),
      );
      const worker = await startService("worker", { ...env, ...prof("worker"), env: workerEnv });
      try {
        const load = (os.loadavg()[0] ?? 0).toFixed(1);
        const procs = { api: api.proc, worker: worker.proc, gateway: gateway.proc };
        const { rows, calls, cpu } = await measure(
          api.url,
          gatewayUrl,
          `tl${Date.now().toString(36)}`,
          procs,
        );
        console.log(`\n## ${root} ${JSON.stringify(workerEnv)} (round ${round}, load ${load})`);
        console.log(`CPU per run (ms, /proc): ${cpu}`);
        if (calls) console.log(calls);
        printTimeline(rows);
        if (values["show-runs"])
          for (const row of rows.slice(0, Number(values["show-runs"]))) {
            console.log("--- one run");
            for (const { label, ms } of row) console.log(`${ms.toFixed(2).padStart(7)} ms  ${label}`);
          }
      } finally {
        await worker.proc.stop();
        await api.proc.stop();
      }
    }
  } finally {
    await gateway.stop();
  }
} finally {
  await redis.stop();
}
process.exit(0);

/** One run: each step's label and its time after the POST was sent (ms). */
type Row = { label: string; ms: number }[];

async function measure(
  apiUrl: string,
  gatewayUrl: string,
  tag: string,
  procs: Record<string, { cpuMs(): number }>,
): Promise<{ rows: Row[]; calls?: string; cpu: string }> {
  let cpuBefore: Record<string, number> = {};
  const rows: Row[] = [];
  const monitor = values.monitor ? new Redis(redis.url) : undefined;
  const commands: { at: number; label: string }[] = [];
  if (monitor) {
    const feed = await monitor.monitor();
    feed.on("monitor", (time: string, args: string[], source: string) => {
      // Commands a script runs are the script's; only what a client sent is a round trip.
      if (source.includes("lua")) return;
      const [name = "", ...rest] = args;
      commands.push({ at: Number(time) * 1e6, label: commandLabel(name.toLowerCase(), rest) });
    });
  }
  // Run -1 warms up (JIT, BullMQ's scripts, first connections) and is not recorded.
  for (let i = -1; i < runs; i++) {
    if (i === 0) cpuBefore = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.cpuMs()]));
    const thread = `${tag}-${i}`;
    const events: { at: number; label: string }[] = [];
    const done = openProbe(`${gatewayUrl}/v1/threads/${thread}/events`, events);
    await done.open;
    commands.length = 0;
    const t0 = wallUs();
    const status = await post(
      `${apiUrl}/v1/threads/${thread}/runs`,
      {
        agent: "demo",
        input: { prompt: `bench run ${i}`, tokensPerSecond: 0, maxTokens: 64 },
      },
      headers,
    );
    const accepted = wallUs();
    if (status !== 202) throw new Error(`POST answered ${status}`);
    await done.finished;
    done.close();
    if (i < 0) continue;
    const firstToken = events.findIndex((e) => e.label === "token");
    const row: Row = [{ label: "(client) 202", ms: (accepted - t0) / 1000 }];
    for (const e of events.slice(0, firstToken + 1))
      row.push({ label: `(sse) ${e.label}`, ms: (e.at - t0) / 1000 });
    const firstTokenAt = events[firstToken]?.at ?? Number.POSITIVE_INFINITY;
    for (const c of commands)
      if (c.at >= t0 && c.at <= firstTokenAt)
        row.push({ label: `(redis) ${c.label}`, ms: (c.at - t0) / 1000 });
    rows.push(row);
  }
  monitor?.disconnect();
  // Whole runs (to `done`), the 10 ms ticks of /proc/<pid>/stat: a total over all runs, per run.
  const cpu = Object.entries(procs)
    .map(([k, p]) => `${k} ${((p.cpuMs() - (cpuBefore[k] ?? 0)) / runs).toFixed(2)}`)
    .join(", ");
  if (monitor) {
    // Calls clients sent from the POST to the first token (a script's own commands are the script's).
    const counts = new Map<string, number>();
    for (const row of rows)
      for (const { label } of row)
        if (label.startsWith("(redis) ")) {
          const name = label.slice(8).split(" ")[0] as string;
          counts.set(name, (counts.get(name) ?? 0) + 1 / rows.length);
        }
    const total = [...counts.values()].reduce((x, y) => x + y, 0);
    const calls = [...counts].map(([c, n]) => `${c} ${n.toFixed(1)}`).join(", ");
    return { rows, cpu, calls: `Redis calls per run, POST → first token: ${total.toFixed(1)} (${calls})` };
  }
  return { rows, cpu };
}

/** Steps are matched across runs by their label and occurrence (the n-th `(redis) evalsha publish`). */
function printTimeline(rows: Row[]): void {
  const byKey = new Map<string, number[]>();
  const orderOf = new Map<string, number[]>();
  for (const row of rows) {
    const seen = new Map<string, number>();
    row.sort((a, b) => a.ms - b.ms);
    row.forEach(({ label, ms }, position) => {
      const n = (seen.get(label) ?? 0) + 1;
      seen.set(label, n);
      const key = n === 1 ? label : `${label} #${n}`;
      byKey.set(key, [...(byKey.get(key) ?? []), ms]);
      orderOf.set(key, [...(orderOf.get(key) ?? []), position]);
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const steps = [...byKey.entries()]
    .filter(([, xs]) => xs.length >= rows.length / 2)
    .map(([key, xs]) => ({ key, p50: median(xs), n: xs.length }))
    .sort((a, b) => a.p50 - b.p50);
  let previous = 0;
  for (const { key, p50, n } of steps) {
    console.log(
      `${p50.toFixed(2).padStart(7)} ms  (+${(p50 - previous).toFixed(2)})  ${key}${n < rows.length ? `  [${n}/${rows.length} runs]` : ""}`,
    );
    previous = p50;
  }
}

function commandLabel(name: string, args: string[]): string {
  if (name === "evalsha" || name === "eval") {
    // BullMQ and our scripts: name them by their first key (queue or thread keys tell them apart).
    const firstKey = args[2] ?? "";
    // Our event scripts: which events the call carries (their JSON payloads), e.g. [status, tool_call].
    // (MONITOR's quoting leaves them unparseable as JSON: read type and kind by pattern.)
    const events = args
      .filter((a) => a.startsWith('{"type":'))
      .map((a) => /"kind":"(\w+)"/.exec(a)?.[1] ?? /^\{"type":"(\w+)"/.exec(a)?.[1] ?? "?");
    const carried = events.length > 0 ? ` [${events.join(", ")}]` : "";
    return `${name} ${firstKey.replace(/tl\w+-\d+/, "<thread>").slice(0, 60)}${carried}`;
  }
  return `${name} ${(args[0] ?? "").replace(/tl\w+-\d+/, "<thread>").slice(0, 60)}`;
}

function openProbe(url: string, events: { at: number; label: string }[]) {
  let opened: () => void = () => {};
  let finish: () => void = () => {};
  const open = new Promise<void>((r) => (opened = r));
  const finished = new Promise<void>((r) => (finish = r));
  const req = http.get(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
    res.setEncoding("utf8");
    const reader = createSseDataReader((data) => {
      const at = wallUs();
      const event = JSON.parse(data) as { type: string; content?: { state?: string; kind?: string } };
      const detail = event.type === "status" ? event.content?.state : event.content?.kind;
      events.push({ at, label: detail ? `${event.type} ${detail}` : event.type });
      if (event.type === "done") finish();
    });
    res.on("data", (chunk: string) => reader.push(chunk));
    res.on("end", finish);
    opened();
  });
  return { open, finished, close: () => req.destroy() };
}
