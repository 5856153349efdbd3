/**
 * Prints the functions with the most self time in a V8 .cpuprofile (from `pnpm bench --cpu-prof`),
 * as a share of the busy (non-idle) time, optionally only between two points in the profile (seconds
 * from its start: a steady step, without start-up compilation).
 * Usage: tsx scripts/bench/profile-top.ts <file.cpuprofile> [count] [from s] [to s]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, countArg, fromArg, toArg] = process.argv.slice(2);
const fromUs = Number(fromArg ?? 0) * 1e6;
const toUs = toArg === undefined ? Number.POSITIVE_INFINITY : Number(toArg) * 1e6;
if (!file) throw new Error("usage: profile-top.ts <file.cpuprofile> [count]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let total = 0;
let at = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)?.callFrame;
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (at < fromUs || at > toUs) return;
  if (!frame) return;
  if (frame.functionName === "(idle)") {
    idle += dt;
    return;
  }
  total += dt;
  const where = frame.url
    ? `${frame.url.replace(/^.*node_modules\/\.pnpm\/([^/]+).*?\/([^/]+)$/, "$1 $2").replace(/^file:\/\/.*\/(services|packages)\//, "$1/")}:${frame.lineNumber + 1}`
    : "";
  const key = `${frame.functionName || "(anonymous)"} ${where}`.trim();
  selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
});
console.log(`busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s\n`);
console.log(`| self % of busy | function |\n|---|---|`);
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 25))) {
  console.log(`| ${((100 * us) / total).toFixed(1)} | ${key} |`);
}
