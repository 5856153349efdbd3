/** The S1/S2 sections of the report: one per publisher, a summary and one matrix per measure. */
import type { StreamOutcome, StreamStep } from "./stream-scenario.js";
import { floorOf, isGateway } from "./targets.js";

const PUBLISHER_LABELS: Record<string, string> = {
  raw: "raw pipelined PUBLISH (the servers' own ceiling)",
  script: "the publish script (the real publish path; Redis + the client's core is the limit)",
  nchan: "Nchan's HTTP publisher",
};

export function renderRamps(name: string, list: StreamOutcome[]): string[] {
  const out: string[] = [];
  for (const publisher of unique(list.map((o) => o.publisher))) {
    // Nchan's ramp is shown beside the raw ramps (its own publisher, the same load client).
    if (publisher === "nchan" && list.some((o) => o.publisher === "raw")) continue;
    const group = list.filter(
      (o) => o.publisher === publisher || (publisher === "raw" && o.publisher === "nchan"),
    );
    out.push(
      "",
      `## ${name} — ${PUBLISHER_LABELS[publisher] ?? publisher} (${group[0]?.connections} connections)`,
      "",
    );
    out.push(...summary(group));
    const rates = unique(group.flatMap((o) => o.steps.map((s) => s.rate))).sort((a, b) => a - b);
    const matrix = (title: string, cell: (o: StreamOutcome, s: StreamStep) => string) => {
      out.push("", `${title}:`, "", `| target | ${rates.map(String).join(" | ")} |`);
      out.push(`|---|${rates.map(() => "---").join("|")}|`);
      for (const o of group) {
        const cells = rates.map((rate) => {
          const s = o.steps.find((x) => x.rate === rate);
          return s ? `${cell(o, s)}${s.pass ? "" : " ✗"}` : "";
        });
        out.push(`| ${o.target} | ${cells.join(" | ")} |`);
      }
    };
    const floorStep = (o: StreamOutcome, rate: number) =>
      group.find((f) => f.target === floorOf(o.target))?.steps.find((s) => s.rate === rate);
    matrix("p99 latency (ms; ✗ = step failed)", (_, s) => String(s.p99Ms));
    matrix("worst per-second max latency (ms)", (_, s) => String(Math.max(0, ...s.maxBySecondMs)));
    matrix("server CPU µs per delivery", (_, s) => String(s.serverCpuUsPerDelivery));
    matrix("server CPU, % of its core", (_, s) => String(s.serverCpuPercent));
    matrix("server system calls per delivery (reads + writes)", (_, s) =>
      s.serverWritesPerDelivery === undefined
        ? ""
        : `${s.serverReadsPerDelivery} + ${s.serverWritesPerDelivery}`,
    );
    matrix("CPU per delivery ÷ the floor's at the same rate", (o, s) => {
      const f = floorStep(o, s.rate);
      return isGateway(o.target) && f?.serverCpuUsPerDelivery
        ? `${(s.serverCpuUsPerDelivery / f.serverCpuUsPerDelivery).toFixed(2)}×`
        : "";
    });
    if (group.some((o) => o.target.endsWith("@base"))) {
      const baseStep = (o: StreamOutcome, rate: number) =>
        group.find((b) => b.target === `${o.target}@base`)?.steps.find((s) => s.rate === rate);
      matrix("CPU per delivery ÷ the baseline's at the same rate", (o, s) => {
        const b = baseStep(o, s.rate);
        return b?.serverCpuUsPerDelivery
          ? `${(s.serverCpuUsPerDelivery / b.serverCpuUsPerDelivery).toFixed(2)}×`
          : "";
      });
      matrix("p99 ÷ the baseline's at the same rate", (o, s) => {
        const b = baseStep(o, s.rate);
        return b?.p99Ms ? `${(s.p99Ms / b.p99Ms).toFixed(2)}×` : "";
      });
    }
    out.push("", "<details><summary>every step</summary>", "");
    out.push(
      "| target | rate | sent/s | deliveries/s | server CPU µs/delivery | core % | p50 | p90 | p99 | p99.9 | max (ms) | max per second (ms) | lost | dup | reordered | pass |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const o of group) {
      for (const s of o.steps) {
        out.push(
          `| ${o.target} | ${s.rate} | ${s.achievedRate} | ${s.deliveriesPerSec} | ${s.serverCpuUsPerDelivery} | ${s.serverCpuPercent} | ${s.p50Ms} | ${s.p90Ms} | ${s.p99Ms} | ${s.p999Ms} | ${s.maxMs} | ${s.maxBySecondMs.map(Math.round).join(" ")} | ${s.lost} | ${s.dup} | ${s.reorder} | ${s.pass ? "yes" : `no: ${s.why}`} |`,
        );
      }
    }
    out.push("", "</details>");
  }
  return out;
}

function summary(group: StreamOutcome[]): string[] {
  const best = (key: string) => group.find((o) => o.target === key);
  const out = [
    "| target | highest rate passed with every step below it (events/s) | its deliveries/s | vs floor | vs baseline | highest rate passed at all | first failing step |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const o of group) {
    const failing = o.steps.find((s) => !s.pass);
    const floor = isGateway(o.target) ? best(floorOf(o.target)) : undefined;
    const base = isGateway(o.target) && !o.target.endsWith("@base") ? best(`${o.target}@base`) : undefined;
    const fail =
      o.connectFailures > 0
        ? `${o.connectFailures} connects failed: ${o.connectErrors[0]}`
        : failing
          ? `${failing.rate}/s: ${failing.why}`
          : "none";
    out.push(
      `| ${o.target} | ${o.bestRate} | ${o.bestDeliveriesPerSec} | ${floor ? ratio(o.bestDeliveriesPerSec, floor.bestDeliveriesPerSec) : ""} | ${base ? ratio(o.bestDeliveriesPerSec, base.bestDeliveriesPerSec) : ""} | ${o.highestPassingRate} | ${fail} |`,
    );
  }
  return out;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : "-";
}
