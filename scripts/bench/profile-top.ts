/**
 * Prints the functions with the most self time in a V8 .cpuprofile (from `pnpm bench --cpu-prof`).
 * Usage: tsx scripts/bench/profile-top.ts <file.cpuprofile> [count]
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

const [file, countArg] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-top.ts <file.cpuprofile> [count]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)?.callFrame;
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  if (!frame) return;
  const where = frame.url
    ? `${frame.url.replace(/^.*node_modules\/\.pnpm\/([^/]+).*?\/([^/]+)$/, "$1 $2").replace(/^file:\/\/.*\/(services|packages)\//, "$1/")}:${frame.lineNumber + 1}`
    : "";
  const key = `${frame.functionName || "(anonymous)"} ${where}`.trim();
  selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
});
console.log(`| self % | function |\n|---|---|`);
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 25))) {
  console.log(`| ${((100 * us) / total).toFixed(1)} | ${key} |`);
}
