/** Turns one run's results into the markdown table (printed and saved) and the target checks. */
import type { E2eOutcome } from "./e2e-scenario.js";
import type { IdleOutcome } from "./idle-scenario.js";
import type { PublishRates } from "./publish-rate.js";
import type { StreamOutcome } from "./stream-scenario.js";
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
  s4?: E2eOutcome;
  /** S4 again with the worker's TOKEN_COALESCE_MS=0. */
  s4NoCoalescing?: E2eOutcome;
  s5?: { process?: PublishRates; worker?: WorkerThroughput[] };
  checks?: Check[];
}

export interface Check {
  target: string;
  met: boolean | "not measured";
  detail: string;
}

export function checkTargets(r: BenchResults): Check[] {
  const checks: Check[] = [];
  const best = (list: StreamOutcome[], key: string) =>
    list.find((o) => o.target === key)?.bestDeliveriesPerSec;
  const ratio = (name: string, a: number | undefined, b: number | undefined, min: number) => {
    if (a === undefined || b === undefined || b === 0) {
      checks.push({ target: name, met: "not measured", detail: `${a ?? "-"} vs ${b ?? "-"} deliveries/s` });
    } else {
      checks.push({
        target: name,
        met: a >= min * b,
        detail: `${a} vs ${b} deliveries/s = ${(a / b).toFixed(2)}×`,
      });
    }
  };
  if (r.s1.length > 0) s1Checks(r, checks, best, ratio);
  return [...checks, ...otherChecks(r)];
}

function s1Checks(
  r: BenchResults,
  checks: Check[],
  best: (list: StreamOutcome[], key: string) => number | undefined,
  ratio: (name: string, a: number | undefined, b: number | undefined, min: number) => void,
): void {
  ratio("S1 dedicated ≥ 0.9× floor A", best(r.s1, "dedicated"), best(r.s1, "floorA"), 0.9);
  ratio("S1 shared ≥ 0.9× floor B", best(r.s1, "shared"), best(r.s1, "floorB"), 0.9);
  ratio("S1 dedicated ≥ 3× Nchan", best(r.s1, "dedicated"), best(r.s1, "nchan"), 3);
  ratio("S1 shared ≥ 3× Nchan", best(r.s1, "shared"), best(r.s1, "nchan"), 3);
  // Supplementary: server CPU per delivery at the first step (same rate for every target). It
  // compares the servers even when the machine, not the server, stopped the ramp.
  for (const [key, floor] of [
    ["dedicated", "floorA"],
    ["shared", "floorB"],
  ] as const) {
    const cpu = (k: string) => r.s1.find((o) => o.target === k)?.steps[0]?.serverCpuUsPerDelivery;
    const a = cpu(key);
    const b = cpu(floor);
    if (a && b) {
      checks.push({
        target: `(supplementary) S1 ${key} server CPU per delivery ≤ ${floor}'s / 0.9`,
        met: a <= b / 0.9,
        detail: `${a} vs ${b} µs = ${(a / b).toFixed(2)}× the floor's cost`,
      });
    }
  }
  for (const key of ["dedicated", "shared"]) {
    const step = r.s1.find((o) => o.target === key)?.steps.find((s) => s.rate === 10_000);
    checks.push(
      step
        ? {
            target: `S1 ${key} p50 < 1 ms at 10k events/s`,
            met: step.p50Ms < 1,
            detail: `p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms`,
          }
        : {
            target: `S1 ${key} p50 < 1 ms at 10k events/s`,
            met: "not measured",
            detail: "the ramp stopped before 10k/s",
          },
    );
  }
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
  if (r.s4) {
    checks.push({
      target: "S4 POST → first token p50 < 10 ms",
      met: r.s4.failed === 0 && r.s4.firstTokenMs.p50 < 10,
      detail: `p50 ${r.s4.firstTokenMs.p50} ms over ${r.s4.runs} runs (${r.s4.failed} failed)`,
    });
  }
  if (r.s4NoCoalescing) {
    checks.push({
      target: "S4 POST → first token p50 < 10 ms (TOKEN_COALESCE_MS=0)",
      met: r.s4NoCoalescing.failed === 0 && r.s4NoCoalescing.firstTokenMs.p50 < 10,
      detail: `p50 ${r.s4NoCoalescing.firstTokenMs.p50} ms over ${r.s4NoCoalescing.runs} runs (${r.s4NoCoalescing.failed} failed)`,
    });
  }
  if (r.s5?.process) {
    checks.push({
      target: "S5 ≥ 50k events/s from one process (publish script)",
      met: r.s5.process.pipelinedPerSec >= 50_000,
      detail: `${r.s5.process.pipelinedPerSec} events/s pipelined`,
    });
  }
  for (const w of r.s5?.worker ?? []) {
    checks.push({
      target: `S5 ≥ 50k events/s from one worker process (demo runs, TOKEN_COALESCE_MS=${w.coalesceMs})`,
      met: w.eventsPerSec >= 50_000,
      detail: `${w.eventsPerSec} events/s, ${w.tokensPerSec} tokens/s (${w.runs} runs × ${w.tokensPerRun} tokens)`,
    });
  }
  return checks;
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push(`# pnpm bench${r.quick ? " --quick" : ""} — ${r.started}`, "");
  out.push(
    Object.entries(r.machine)
      .map(([k, v]) => `- ${k}: ${v}`)
      .join("\n"),
    "",
  );
  for (const note of r.notes) out.push(`> ${note}`);
  for (const [name, list] of [
    ["S1 many threads", r.s1],
    ["S2 fan-out", r.s2],
  ] as const) {
    if (list.length === 0) continue;
    const floorOf = (key: string) => (key === "shared" ? "floorB" : "floorA");
    const bestOf = (key: string) => list.find((o) => o.target === key)?.bestDeliveriesPerSec ?? 0;
    out.push("", `## ${name} (${list[0]?.connections} connections)`, "");
    const firstRate = list[0]?.steps[0]?.rate ?? 0;
    out.push(
      `| target | best passing rate (events/s) | deliveries/s | vs floor | vs Nchan | p50 / p99 at best (ms) | p50 / p99 at ${firstRate}/s (ms) | server CPU µs per delivery at ${firstRate}/s | CPU cost vs floor | first failing step |`,
    );
    out.push("|---|---|---|---|---|---|---|---|---|---|");
    const cpuOf = (key: string) => list.find((o) => o.target === key)?.steps[0]?.serverCpuUsPerDelivery ?? 0;
    for (const o of list) {
      const bestStep = [...o.steps].reverse().find((s) => s.pass);
      const failing = o.steps.find((s) => !s.pass);
      const vsFloor =
        o.target.startsWith("floor") || o.target === "nchan"
          ? ""
          : ratio(o.bestDeliveriesPerSec, bestOf(floorOf(o.target)));
      const vsNchan = o.target === "nchan" ? "" : ratio(o.bestDeliveriesPerSec, bestOf("nchan"));
      const fail =
        o.connectFailures > 0
          ? `${o.connectFailures} connects failed: ${o.connectErrors[0]}`
          : failing
            ? `${failing.rate}/s: ${failing.why}`
            : "none";
      out.push(
        `| ${o.target} | ${o.bestRate} | ${o.bestDeliveriesPerSec} | ${vsFloor} | ${vsNchan} | ${bestStep ? `${bestStep.p50Ms} / ${bestStep.p99Ms}` : "-"} | ${o.steps[0] ? `${o.steps[0].p50Ms} / ${o.steps[0].p99Ms}` : "-"} | ${o.steps[0]?.serverCpuUsPerDelivery ?? "-"} | ${o.target === "dedicated" || o.target === "shared" ? ratio(cpuOf(o.target), cpuOf(floorOf(o.target))) : ""} | ${fail} |`,
      );
    }
    out.push("", "<details><summary>every step</summary>", "");
    out.push(
      "| target | rate | sent/s | deliveries/s | server CPU µs/delivery | p50 | p90 | p99 | p99.9 | max (ms) | lost | dup | reordered | pass |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const o of list) {
      for (const s of o.steps) {
        out.push(
          `| ${o.target} | ${s.rate} | ${s.achievedRate} | ${s.deliveriesPerSec} | ${s.serverCpuUsPerDelivery} | ${s.p50Ms} | ${s.p90Ms} | ${s.p99Ms} | ${s.p999Ms} | ${s.maxMs} | ${s.lost} | ${s.dup} | ${s.reorder} | ${s.pass ? "yes" : `no: ${s.why}`} |`,
        );
      }
    }
    out.push("", "</details>");
  }
  if (r.s3.length > 0) {
    out.push("", "## S3 idle capacity", "");
    out.push(
      "| target | connections | open | failed | server RSS (MiB) | RSS per conn (KiB) | RSS growth since previous level (KiB/conn) | Redis per conn (KiB) | Redis clients |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|");
    for (const o of r.s3) {
      for (const l of o.levels) {
        out.push(
          `| ${o.target} | ${l.connections} | ${l.stillOpen} | ${l.failed} | ${Math.round(l.rssBytes / 2 ** 20)} | ${l.rssPerConnKb} | ${l.rssMarginalKb} | ${l.redisPerConnKb} | ${l.redisClients} |`,
        );
      }
    }
  }
  for (const [label, e2e] of [
    ["worker defaults", r.s4],
    ["TOKEN_COALESCE_MS=0", r.s4NoCoalescing],
  ] as const) {
    if (!e2e) continue;
    const p = (x: { p50: number; p90: number; p99: number; max: number }) =>
      `${x.p50} | ${x.p90} | ${x.p99} | ${x.max}`;
    out.push("", `## S4 end to end, ${label} (${e2e.runs} runs one after another, ${e2e.failed} failed)`, "");
    out.push("| measure | p50 | p90 | p99 | max (ms) |", "|---|---|---|---|---|");
    out.push(`| POST → 202 | ${p(e2e.postAcceptedMs)} |`);
    out.push(`| POST → status running at the client | ${p(e2e.runningMs)} |`);
    out.push(`| POST → first token at the client | ${p(e2e.firstTokenMs)} |`);
    out.push(`| queue pickup (queued → running at the client) | ${p(e2e.queuePickupMs)} |`);
    out.push(`| POST → done at the client | ${p(e2e.runCompleteMs)} |`);
    if (e2e.firstError) out.push("", `first failure: ${e2e.firstError}`);
  }
  if (r.s5) {
    out.push("", "## S5 publish throughput of one process", "", "| what | events/s |", "|---|---|");
    if (r.s5.process) {
      out.push(`| publish script, one at a time | ${r.s5.process.sequentialPerSec} |`);
      out.push(
        `| publish script, pipelined (${r.s5.process.window} in flight) | ${r.s5.process.pipelinedPerSec} |`,
      );
    }
    for (const w of r.s5.worker ?? []) {
      out.push(
        `| worker process, ${w.runs} concurrent demo runs × ${w.tokensPerRun} tokens, TOKEN_COALESCE_MS=${w.coalesceMs} | ${w.eventsPerSec} (${w.tokensPerSec} tokens/s) |`,
      );
    }
  }
  if (r.checks) {
    out.push("", "## Targets", "", "| target | met | measured |", "|---|---|---|");
    for (const c of r.checks)
      out.push(
        `| ${c.target} | ${c.met === true ? "yes" : c.met === false ? "**no**" : c.met} | ${c.detail} |`,
      );
  }
  return `${out.join("\n")}\n`;
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : "-";
}
