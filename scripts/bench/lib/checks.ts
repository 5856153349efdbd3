/**
 * The performance targets (docs/BENCHMARKS.md, "Targets"), judged on one run's results. Every
 * gateway figure is a ratio to its floor measured in the same run with the same publisher.
 */
import type { E2eRun } from "./e2e-scenario.js";
import type { IdleOutcome } from "./idle-scenario.js";
import type { PublishRates } from "./publish-rate.js";
import type { StreamOutcome, StreamStep } from "./stream-scenario.js";
import { floorOf } from "./targets.js";
import type { WorkerThroughput } from "./worker-throughput.js";

export interface BenchResults {
  started: string;
  finished?: string;
  quick: boolean;
  machine: Record<string, string | number>;
  notes: string[];
  s1: StreamOutcome[];
  s2: StreamOutcome[];
  s3: IdleOutcome[];
  s4: E2eRun[];
  s5?: { process: (PublishRates & { code: string })[]; worker: (WorkerThroughput & { code: string })[] };
  checks?: Check[];
}

export interface Check {
  target: string;
  met: boolean | "not measured";
  detail: string;
}

/** A gateway ramp and its floor's ramp with the same publisher, matched by rate. */
export function pairs(list: StreamOutcome[], gateway: string, publisher: string) {
  const find = (key: string) => list.find((o) => o.target === key && o.publisher === publisher);
  const own = find(gateway);
  const floor = find(floorOf(gateway));
  if (!own || !floor) return undefined;
  const matched = own.steps.flatMap((s) => {
    const f = floor.steps.find((x) => x.rate === s.rate);
    return f ? [{ rate: s.rate, own: s, floor: f }] : [];
  });
  return { own, floor, matched };
}

export function checkTargets(r: BenchResults): Check[] {
  const checks: Check[] = [];
  for (const [name, list] of [
    ["S1", r.s1],
    ["S2", r.s2],
  ] as const) {
    for (const gateway of ["dedicated", "shared"]) {
      const p = pairs(list, gateway, "raw");
      if (!p) continue;
      checks.push(cpuCheck(name, gateway, p.matched));
      const floorName = floorOf(gateway);
      if (name === "S1") {
        checks.push(
          ratioCheck(
            `S1 ${gateway}: highest passing rate ≥ 0.9× ${floorName}'s`,
            p.own.bestRate,
            p.floor.bestRate,
            0.9,
            "events/s",
          ),
        );
        checks.push(p99Check(gateway, p.matched));
        checks.push(stallCheck(gateway, p.matched));
      } else {
        checks.push(
          ratioCheck(
            `S2 ${gateway}: deliveries/s ≥ 0.9× ${floorName}'s`,
            p.own.bestDeliveriesPerSec,
            p.floor.bestDeliveriesPerSec,
            0.9,
            "deliveries/s",
          ),
        );
      }
    }
  }
  return [...checks, ...otherChecks(r)];
}

type Matched = { rate: number; own: StreamStep; floor: StreamStep }[];

function cpuCheck(scenario: string, gateway: string, matched: Matched): Check {
  const name = `${scenario} ${gateway}: CPU µs per delivery ≤ 1.3× ${floorOf(gateway)}'s at every rate both ran`;
  const rows = matched.filter((m) => m.own.serverCpuUsPerDelivery > 0 && m.floor.serverCpuUsPerDelivery > 0);
  if (rows.length === 0) return { target: name, met: "not measured", detail: "no common step" };
  const ratios = rows.map((m) => ({
    rate: m.rate,
    x: m.own.serverCpuUsPerDelivery / m.floor.serverCpuUsPerDelivery,
  }));
  return {
    target: name,
    met: ratios.every((q) => q.x <= 1.3),
    detail: ratios.map((q) => `${q.rate}/s ${q.x.toFixed(2)}×`).join(", "),
  };
}

function p99Check(gateway: string, matched: Matched): Check {
  const name = `S1 ${gateway}: p99 ≤ 3× ${floorOf(gateway)}'s at every rate both pass`;
  const rows = matched.filter((m) => m.own.pass && m.floor.pass);
  if (rows.length === 0) return { target: name, met: "not measured", detail: "no rate passed by both" };
  return {
    target: name,
    met: rows.every((m) => m.own.p99Ms <= 3 * m.floor.p99Ms),
    detail: rows.map((m) => `${m.rate}/s ${m.own.p99Ms} vs ${m.floor.p99Ms} ms`).join(", "),
  };
}

function stallCheck(gateway: string, matched: Matched): Check {
  const name = `S1 ${gateway}: no per-second max > 20 ms where ${floorOf(gateway)} passes with p99 < 5 ms`;
  const rows = matched.filter((m) => m.floor.pass && m.floor.p99Ms < 5);
  if (rows.length === 0) return { target: name, met: "not measured", detail: "the floor had no such step" };
  const worst = (s: StreamStep) => Math.max(0, ...s.maxBySecondMs);
  return {
    target: name,
    met: rows.every((m) => worst(m.own) <= 20),
    detail: rows.map((m) => `${m.rate}/s worst second ${worst(m.own)} ms`).join(", "),
  };
}

function ratioCheck(name: string, a: number, b: number, min: number, unit: string): Check {
  if (b === 0) return { target: name, met: "not measured", detail: `${a} vs ${b} ${unit}` };
  return { target: name, met: a >= min * b, detail: `${a} vs ${b} ${unit} = ${(a / b).toFixed(2)}×` };
}

function otherChecks(r: BenchResults): Check[] {
  const checks: Check[] = [];
  const idle = (key: string) => r.s3.find((o) => o.target === key)?.levels.at(-1);
  const ded = idle("dedicated");
  if (ded) {
    checks.push({
      target: `S3 ${ded.connections} idle clients, dedicated, no error`,
      met: ded.failed === 0 && ded.stillOpen === ded.connections,
      detail: `${ded.stillOpen} open, ${ded.failed} failed${ded.errors[0] ? ` (${ded.errors[0]})` : ""}`,
    });
    // Memory is compared at the largest level both held without a failed connect.
    const clean = (key: string) =>
      r.s3.find((o) => o.target === key)?.levels.filter((l) => l.failed === 0) ?? [];
    const both = clean("dedicated")
      .filter((l) => clean("floorA").some((f) => f.connections === l.connections))
      .at(-1);
    const floorLevel = clean("floorA").find((f) => f.connections === both?.connections);
    if (both && floorLevel) {
      checks.push({
        target: "S3 RSS per client ≤ 1.5× floor A",
        met: both.rssPerConnKb <= 1.5 * floorLevel.rssPerConnKb,
        detail: `at ${both.connections}: ${both.rssPerConnKb} vs ${floorLevel.rssPerConnKb} KiB = ${(both.rssPerConnKb / floorLevel.rssPerConnKb).toFixed(2)}×`,
      });
    }
  }
  for (const e2e of r.s4.filter((x) => x.code === "this")) {
    checks.push({
      target: `S4 POST → first token p50 < 5 ms (TOKEN_COALESCE_MS=${e2e.coalesce})`,
      met: e2e.failed === 0 && e2e.firstTokenMs.p50 < 5,
      detail: `p50 ${e2e.firstTokenMs.p50} ms over ${e2e.runs} runs (${e2e.failed} failed)`,
    });
  }
  for (const p of r.s5?.process.filter((x) => x.code === "this") ?? []) {
    checks.push({
      target: "S5 ≥ 50k events/s from one process (publish script)",
      met: p.pipelinedPerSec >= 50_000,
      detail: `${p.pipelinedPerSec} events/s pipelined`,
    });
  }
  for (const w of r.s5?.worker.filter((x) => x.code === "this") ?? []) {
    checks.push({
      target: `S5 ≥ 50k events/s from one worker process (demo runs, TOKEN_COALESCE_MS=${w.coalesceMs})`,
      met: w.eventsPerSec >= 50_000,
      detail: `${w.eventsPerSec} events/s, ${w.tokensPerSec} tokens/s (${w.runs} runs × ${w.tokensPerRun} tokens)`,
    });
  }
  return checks;
}
