/**
 * The gateway's own work per delivery, without sockets, Redis or a load client: real SSE streams
 * (`createSseStream`, the context `buildGateway` builds) fed channel messages as the subscribers
 * would hand them over, writing to a response that discards the bytes. It reports CPU µs and GC ms
 * per delivery, which a loaded machine barely moves (unlike the end-to-end ramps of `pnpm bench`), so
 * two checkouts compare fairly: `--baseline <dir>` runs the same thing against another checkout's
 * gateway in the same process run.
 *
 * It also reports the bytes per delivery that outlived the young generation (promoted to old space:
 * the old space's growth over the run, which holds while no full GC runs in it): what a stream keeps
 * per event is what makes its GC cost grow with load.
 *
 * Usage: tsx scripts/bench/hot-path.ts [--baseline <checkout>] [--deliveries 300000] [--rounds 3]
 */
import { createRequire } from "node:module";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import v8 from "node:v8";

const { values } = parseArgs({
  options: {
    baseline: { type: "string" },
    deliveries: { type: "string", default: "300000" },
    rounds: { type: "string", default: "3" },
  },
});
const deliveries = Number(values.deliveries);
const STREAMS = 1_000;

interface Case {
  name: string;
  /** Threads the streams watch (1 = fan-out) and whether each stream gets its own copy (dedicated). */
  threads: number;
  copies: boolean;
}
const CASES: Case[] = [
  { name: "S1 dedicated (1,000 threads × 1)", threads: STREAMS, copies: true },
  { name: "S1 shared (1,000 threads × 1)", threads: STREAMS, copies: false },
  { name: "S2 dedicated (1 thread × 1,000)", threads: 1, copies: true },
  { name: "S2 shared (1 thread × 1,000)", threads: 1, copies: false },
];

let gcMs = 0;
let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind !== constants.NODE_PERFORMANCE_GC_MINOR) majorGcs += 1;
  }
}).observe({ entryTypes: ["gc"] });
const oldSpaceUsed = () =>
  v8.getHeapSpaceStatistics().find((space) => space.space_name === "old_space")?.space_used_size ?? 0;

interface Measured {
  cpuUs: number;
  gcUs: number;
  /** Bytes promoted per delivery; undefined when a full GC ran during the run (the growth is not it). */
  promotedBytes: number | undefined;
}

const roots = [{ label: "this", root: process.cwd() }];
if (values.baseline) roots.push({ label: "base", root: values.baseline });
const results: Record<string, Record<string, Measured[]>> = {};
for (let round = 0; round < Number(values.rounds); round++) {
  // Alternate the order each round, so neither checkout always runs on a warmer heap.
  for (const { label, root } of round % 2 === 0 ? roots : [...roots].reverse()) {
    const gateway = await loadGateway(root);
    for (const c of CASES) {
      const r = await measure(gateway, c);
      results[c.name] ??= {};
      const byCase = results[c.name] as Record<string, Measured[]>;
      byCase[label] ??= [];
      byCase[label]?.push(r);
    }
  }
}

console.log(
  `| case | ${roots.map((r) => `${r.label}: CPU µs / GC µs / promoted bytes per delivery`).join(" | ")} |${values.baseline ? " this ÷ base (CPU) |" : ""}`,
);
console.log(`|---|${roots.map(() => "---").join("|")}|${values.baseline ? "---|" : ""}`);
for (const c of CASES) {
  const best = (label: string) => {
    const runs = results[c.name]?.[label] ?? [];
    return runs.reduce(
      (a, b) => (b.cpuUs < a.cpuUs ? b : a),
      runs[0] ?? { cpuUs: 0, gcUs: 0, promotedBytes: 0 },
    );
  };
  const promoted = (label: string) => {
    const known = (results[c.name]?.[label] ?? []).flatMap((r) => r.promotedBytes ?? []);
    return known.length > 0 ? String(Math.round(Math.min(...known))) : "?";
  };
  const cells = roots.map(
    (r) => `${best(r.label).cpuUs.toFixed(2)} / ${best(r.label).gcUs.toFixed(2)} / ${promoted(r.label)}`,
  );
  const ratio = values.baseline ? ` ${(best("this").cpuUs / best("base").cpuUs).toFixed(2)}× |` : "";
  console.log(`| ${c.name} | ${cells.join(" | ")} |${ratio}`);
}
console.log(
  `\n(best of ${values.rounds} rounds, ${deliveries} deliveries each; CPU = user + system of this process)`,
);
process.exit(0);

type Gateway = Awaited<ReturnType<typeof loadGateway>>;

async function loadGateway(root: string) {
  const gatewaySrc = `${root}/services/gateway/src`;
  const load = (file: string) => import(pathToFileURL(`${gatewaySrc}/${file}`).href);
  const [sse, metrics, junk, parseOnce] = await Promise.all([
    load("sse-stream.ts"),
    load("metrics.ts"),
    load("junk-reporter.ts"),
    load("parse-once.ts"),
  ]);
  const frameOnce = await load("frame-once.ts").catch(() => undefined);
  const pino = createRequire(`${root}/services/gateway/package.json`)("pino");
  return { sse, metrics, junk, parseOnce, frameOnce, pino };
}

async function measure(gateway: Gateway, c: Case): Promise<Measured> {
  const log = gateway.pino({ level: "warn" });
  const metrics = gateway.metrics.createGatewayMetrics();
  const ctx = {
    redis: undefined,
    log,
    metrics,
    junk: gateway.junk.createJunkReporter(log, metrics),
    retryMs: 1000,
    heartbeatIntervalMs: 15_000,
    maxBufferBytes: 1 << 30,
    maxEventBytes: 1 << 20,
    now: Date.now,
    parseMessage: gateway.parseOnce.createParseOnce(),
    ...(gateway.frameOnce ? { frameEvent: gateway.frameOnce.createFrameOnce() } : {}),
  };
  const byThread: { onMessage(raw: Buffer, channel: string): void }[][] = Array.from(
    { length: c.threads },
    () => [],
  );
  const streams: { end(reason: string): void }[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const thread = i % c.threads;
    const stream = gateway.sse.createSseStream(ctx, {
      threadId: `bench-${thread}`,
      streamId: `s:${i}`,
      resumeFrom: undefined,
      untilDone: false,
      expiresAtMs: Date.now() + 3_600_000,
      // Before the redesign (no frame-once.ts) the live start was an option and `start` took the subscription.
      ...(gateway.frameOnce ? {} : { liveFrom: "0", onEnd: () => {} }),
    });
    stream.start(discardingResponse(), {}, gateway.frameOnce ? "0" : { close: async () => {} });
    byThread[thread]?.push(stream.handlers);
    streams.push(stream);
  }
  const messagesPerThread = Math.ceil(deliveries / STREAMS);
  const run = (count: number) => {
    for (let n = 1; n <= count; n++) {
      for (let t = 0; t < c.threads; t++) {
        const channel = `thread:bench-${t}`;
        const json = `{"id":"1764400000000-${n}","seq":${n},"type":"token","threadId":"bench-${t}","runId":"bench","ts":${Date.now()},"content":"2|${n}|1234567890123"}`;
        const shared = Buffer.from(json);
        for (const handlers of byThread[t] ?? []) {
          handlers.onMessage(c.copies ? Buffer.from(json) : shared, channel);
        }
      }
    }
  };
  run(Math.max(5, Math.floor(messagesPerThread / 5))); // warm-up: JIT, then measured
  // GC entries are reported asynchronously: let the warm-up's arrive before taking the start.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const gc0 = gcMs;
  const majorGcs0 = majorGcs;
  const old0 = oldSpaceUsed();
  const cpu0 = process.cpuUsage();
  run(messagesPerThread);
  const cpu = process.cpuUsage(cpu0);
  const oldGrowth = oldSpaceUsed() - old0;
  // GC entries are reported asynchronously: let them arrive before reading the sum.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const total = messagesPerThread * STREAMS;
  for (const s of streams) s.end("shutdown");
  return {
    cpuUs: (cpu.user + cpu.system) / total,
    gcUs: ((gcMs - gc0) * 1000) / total,
    promotedBytes: majorGcs === majorGcs0 ? oldGrowth / total : undefined,
  };
}

/** Enough of a ServerResponse for the SSE transport; the bytes go nowhere. */
function discardingResponse() {
  const res = new Writable({
    highWaterMark: 1 << 30,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  return Object.assign(res, { writeHead: () => res, removeHeader: () => {} });
}
