/**
 * Gateway CPU and GC per delivery, this checkout against another (`--baseline <checkout dir>`) and/or
 * against the raw floor of each mode (`--floor`: scripts/bench/floor-server.ts, floor A for dedicated,
 * floor B for shared — issue 16's "≤ 1.3× the floor"), INTERLEAVED: every round starts each server
 * fresh, one after another (the order flips each round), at the same fixed publish rates. On a shared
 * machine whose load drifts from minute to minute, only ratios of neighbours are fair; repeat rounds to
 * see the noise. (`pnpm bench` runs one target's whole ramp after another's.)
 *
 *   tsx scripts/bench/mode-cost.ts [--baseline /path/to/checkout] [--floor] [--modes dedicated,shared]
 *     [--rates 2000,5000] [--clients 200] [--seconds 4] [--rounds 3] [--server-core 1]
 *
 * The load: `--clients` SSE clients, one per thread (S1's shape), and raw PUBLISHes of script-shaped
 * token events (raw-publisher.ts) paced at each rate in turn. Measured per step on the gateway: CPU
 * (utime + stime) and GC time (a PerformanceObserver preloaded by gc-meter.mjs) per delivery.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { freePort } from "@threadline/testing";
import { startBenchRedis } from "./lib/bench-redis.js";
import { startPinned } from "./lib/processes.js";
import { createRawPublisher } from "./lib/raw-publisher.js";
import { nodeTs } from "./lib/targets.js";

const { values } = parseArgs({
  options: {
    baseline: { type: "string" },
    floor: { type: "boolean", default: false },
    modes: { type: "string", default: "dedicated,shared" },
    rates: { type: "string", default: "2000,5000" },
    clients: { type: "string", default: "200" },
    seconds: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    "server-core": { type: "string", default: "1" },
  },
});
const modes = values.modes.split(",");
const rates = values.rates.split(",").map(Number);
const CLIENTS = Number(values.clients);
const STEP_MS = Number(values.seconds) * 1000;
const serverCore = Number(values["server-core"]);
/** The servers each round measures: this checkout's gateway, the baseline's, the mode's raw floor. */
const codes = [{ code: "this", root: process.cwd() }];
if (values.baseline) {
  if (!existsSync(join(values.baseline, "services/gateway/src/main.ts")))
    throw new Error(`--baseline ${values.baseline}: not a Threadline checkout`);
  codes.push({ code: "base", root: values.baseline });
}
if (values.floor) codes.push({ code: "floor", root: process.cwd() });
if (codes.length < 2) throw new Error("nothing to compare with: pass --baseline <checkout> and/or --floor");
const gcMeter = fileURLToPath(new URL("./gc-meter.mjs", import.meta.url));
const token = signDevToken(DEV_JWT_SECRET, { sub: "bench", threads: ["*"], ttlSeconds: 24 * 3600 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(os.tmpdir(), "threadline-mode-cost-"));

interface Step {
  round: number;
  code: string;
  mode: string;
  rate: number;
  delivered: number;
  expected: number;
  cpuUs: number;
  gcUs: number;
  minorGcs: number;
  majorGcs: number;
}
const steps: Step[] = [];
const redis = await startBenchRedis(0);
const publisher = createRawPublisher(redis.url);
console.log(
  `load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ")}`,
);
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of modes) {
      for (const { code, root } of round % 2 === 0 ? codes : [...codes].reverse()) {
        steps.push(...(await measureGateway(round, code, root, mode)));
      }
    }
  }
} finally {
  publisher.close();
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(
  `load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ")}\n`,
);
report();
process.exit(0);

async function measureGateway(round: number, code: string, root: string, mode: string): Promise<Step[]> {
  const port = await freePort();
  const gcFile = join(tmp, `gc-${code}-${mode}-${round}.json`);
  const floor = code === "floor";
  const proc = await startPinned({
    name: floor ? `floor-${mode}` : `gateway-${code}-${mode}`,
    parentEnv: process.env,
    command: process.execPath,
    args: [
      "--import",
      gcMeter,
      ...nodeTs(floor ? "scripts/bench/floor-server.ts" : "services/gateway/src/main.ts"),
    ],
    readyUrl: `http://127.0.0.1:${port}/${floor ? "healthz" : "readyz"}`,
    cwd: root,
    core: serverCore,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      REDIS_URL: redis.url,
      SUBSCRIBER_MODE: mode,
      FLOOR_MODE: mode,
      LOG_LEVEL: "warn",
      MAX_STREAMS_PER_SUBJECT: "1000000",
      JWT_SECRET: DEV_JWT_SECRET,
      GC_METER_FILE: gcFile,
    },
  });
  const urlOf = (thread: string) =>
    floor ? `http://127.0.0.1:${port}/sub/${thread}` : `http://127.0.0.1:${port}/v1/threads/${thread}/events`;
  const tag = `mc${Date.now().toString(36)}-${code}-${mode}`;
  const threads = Array.from({ length: CLIENTS }, (_, i) => `${tag}-${i}`);
  let delivered = 0;
  const closers: (() => void)[] = [];
  const out: Step[] = [];
  try {
    for (let i = 0; i < threads.length; i += 50) {
      const batch = threads.slice(i, i + 50).map((t) => openSse(urlOf(t), (n) => (delivered += n)));
      closers.push(...(await Promise.all(batch)));
    }
    // Warm up (JIT, first GCs) at the lowest rate; not measured.
    await publishPaced(threads, rates[0] ?? 1000, 1_500);
    await sleep(500);
    for (const rate of rates) {
      const before = { cpu: proc.cpuMs(), gc: readGc(gcFile), delivered };
      const sent = await publishPaced(threads, rate, STEP_MS);
      const expected = before.delivered + sent;
      const deadline = Date.now() + 10_000;
      while (delivered < expected && Date.now() < deadline) await sleep(20);
      await sleep(300); // the gc file is written every 100 ms
      const gc = readGc(gcFile);
      const n = delivered - before.delivered;
      const step: Step = {
        round,
        code,
        mode,
        rate,
        delivered: n,
        expected: sent,
        cpuUs: ((proc.cpuMs() - before.cpu) * 1000) / n,
        gcUs: ((gc.ms - before.gc.ms) * 1000) / n,
        minorGcs: gc.minorCount - before.gc.minorCount,
        majorGcs: gc.majorCount - before.gc.majorCount,
      };
      out.push(step);
      console.log(
        `round ${round} ${code.padEnd(4)} ${mode.padEnd(9)} ${String(rate).padStart(5)}/s: ${step.cpuUs.toFixed(1)} µs CPU, ${step.gcUs.toFixed(2)} µs GC per delivery (${step.minorGcs} minor, ${step.majorGcs} major GCs; ${n}/${sent} delivered)`,
      );
    }
  } finally {
    for (const close of closers) close();
    await proc.stop();
  }
  return out;
}

/** Publishes round-robin over the threads at `rate` events/s for `ms`; resolves with the count sent. */
async function publishPaced(threads: string[], rate: number, ms: number): Promise<number> {
  const start = performance.now();
  let sent = 0;
  const inflight: Promise<unknown>[] = [];
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++)
      inflight.push(publisher.publish(threads[sent % threads.length] as string, `${sent}`));
    if (inflight.length > 10_000) await Promise.all(inflight.splice(0));
    await sleep(5);
  }
  await Promise.all(inflight);
  return sent;
}

function readGc(file: string): { ms: number; minorCount: number; majorCount: number } {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return { ms: 0, minorCount: 0, majorCount: 0 };
  }
}

/**
 * Opens an SSE stream counting `data:` lines (the floor's first frame starts a chunk with one, and a
 * chunk may end inside one: the previous chunk's tail is searched too); resolves once the 200 and the
 * first bytes arrived.
 */
function openSse(url: string, onEvents: (n: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { authorization: `Bearer ${token}` } });
    request.once("error", reject);
    request.once("response", (response) => {
      if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode} for ${url}`));
      let tail = "\n";
      response.on("data", (chunk: Buffer) => {
        const text = tail + chunk.toString("latin1");
        let n = 0;
        for (let at = text.indexOf("\ndata:"); at !== -1; at = text.indexOf("\ndata:", at + 6))
          if (at + 6 > tail.length) n++;
        tail = text.slice(-6);
        if (n > 0) onEvents(n);
      });
      response.once("data", () => resolve(() => request.destroy()));
    });
  });
}

function report() {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  };
  const others = codes.slice(1).map((c) => c.code);
  console.log(
    `| mode | rate | ${codes.map((c) => `CPU µs/delivery ${c.code} (each round)`).join(" | ")} | ${others.map((o) => `this ÷ ${o} per round | median`).join(" | ")} | GC µs/delivery ${codes.map((c) => c.code).join(" / ")} (median) |`,
  );
  console.log(`|---|---|${codes.map(() => "---|").join("")}${others.map(() => "---|---|").join("")}---|`);
  for (const mode of modes) {
    for (const rate of rates) {
      const pick = (code: string) =>
        steps
          .filter((s) => s.code === code && s.mode === mode && s.rate === rate)
          .sort((a, b) => a.round - b.round);
      const mine = pick("this");
      const ratioCells = others.map((other) => {
        const theirs = pick(other);
        const ratios = mine.map((s, i) => s.cpuUs / (theirs[i]?.cpuUs ?? Number.NaN));
        return `${ratios.map((r) => `${r.toFixed(2)}×`).join(", ")} | **${median(ratios).toFixed(2)}×**`;
      });
      console.log(
        `| ${mode} | ${rate} | ${codes
          .map((c) =>
            pick(c.code)
              .map((s) => s.cpuUs.toFixed(1))
              .join(", "),
          )
          .join(
            " | ",
          )} | ${ratioCells.join(" | ")} | ${codes.map((c) => median(pick(c.code).map((s) => s.gcUs)).toFixed(2)).join(" / ")} |`,
      );
    }
  }
}
