/** Turns one run's results into the markdown report (printed and saved). */
import type { BenchResults } from "./checks.js";
import { renderRamps } from "./report-ramps.js";

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
    out.push(...renderRamps(name, list));
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
  if (r.s4.length > 0) {
    const p = (x: { p50: number; p90: number; p99: number; max: number }) =>
      `${x.p50} / ${x.p90} / ${x.p99} / ${x.max}`;
    out.push("", `## S4 end to end (${r.s4[0]?.runs} runs one after another, demo agent at full speed)`, "");
    out.push(
      "| code | TOKEN_COALESCE_MS | failed | POST → 202 | POST → running | POST → first token | queue pickup | running → first token | POST → done |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const e of r.s4) {
      out.push(
        `| ${e.code} | ${e.coalesce} | ${e.failed} | ${p(e.postAcceptedMs)} | ${p(e.runningMs)} | ${p(e.firstTokenMs)} | ${p(e.queuePickupMs)} | ${p(e.runningToTokenMs)} | ${p(e.runCompleteMs)} |`,
      );
    }
    out.push("", "Each cell: p50 / p90 / p99 / max, ms on the client's clock.");
    for (const e of r.s4)
      if (e.firstError) out.push("", `${e.code}/${e.coalesce} first failure: ${e.firstError}`);
  }
  if (r.s5) {
    out.push(
      "",
      "## S5 publish throughput of one process",
      "",
      "| code | what | events/s |",
      "|---|---|---|",
    );
    for (const p of r.s5.process) {
      out.push(`| ${p.code} | publish script, one at a time | ${p.sequentialPerSec} |`);
      out.push(`| ${p.code} | publish script, pipelined (${p.window} in flight) | ${p.pipelinedPerSec} |`);
    }
    for (const w of r.s5.worker) {
      out.push(
        `| ${w.code} | worker process, ${w.runs} concurrent demo runs × ${w.tokensPerRun} tokens, TOKEN_COALESCE_MS=${w.coalesceMs} | ${w.eventsPerSec} (${w.tokensPerSec} tokens/s); CPU per event: worker ${w.workerCpuUsPerEvent} µs (${w.workerCpuPercent} % of a core), Redis ${w.redisCpuUsPerEvent} µs (${w.redisCpuPercent} %); the bench's subscriber ${w.subscriberCpuPercent} % of a core |`,
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
