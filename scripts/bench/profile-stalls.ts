/**
 * Finds the long tasks in a V8 .cpuprofile (record with `--cpu-prof --cpu-prof-interval 100`): runs
 * of consecutive non-idle samples longer than a threshold, each with the functions that took its
 * time (self time, and the outermost application frame of each sample). This is how a stall of
 * tens of ms every few seconds is traced to the code that runs in it.
 * Usage: tsx scripts/bench/profile-stalls.ts <file.cpuprofile> [threshold ms = 10] [top = 8] [from s] [to s]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  parent?: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, thresholdArg, topArg, fromArg, toArg] = process.argv.slice(2);
const fromUs = Number(fromArg ?? 0) * 1e6;
const toUs = toArg === undefined ? Number.POSITIVE_INFINITY : Number(toArg) * 1e6;
if (!file) throw new Error("usage: profile-stalls.ts <file.cpuprofile> [threshold ms] [top]");
const thresholdUs = Number(thresholdArg ?? 10) * 1000;
const top = Number(topArg ?? 8);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (const n of profile.nodes) for (const c of n.children ?? []) (byId.get(c) as ProfileNode).parent = n.id;

const label = (n: ProfileNode | undefined) => {
  if (!n) return "?";
  const f = n.callFrame;
  const where = f.url
    .replace(/^.*node_modules\/\.pnpm\/([^/]+).*?\/([^/]+)$/, "$1 $2")
    .replace(/^file:\/\/.*\/(services|packages)\//, "$1/");
  return `${f.functionName || "(anonymous)"}${where ? ` ${where}:${f.lineNumber + 1}` : ""}`;
};
const isIdle = (id: number) => byId.get(id)?.callFrame.functionName === "(idle)";
/** The deepest-from-root frame that is our code (services/ or packages/), else the leaf's root child. */
const appFrame = (id: number) => {
  let n = byId.get(id);
  let found: ProfileNode | undefined;
  while (n) {
    if (/\/(services|packages)\//.test(n.callFrame.url)) found = n;
    n = n.parent === undefined ? undefined : byId.get(n.parent);
  }
  return label(found ?? byId.get(id));
};

let t = 0;
let task: { start: number; us: number; samples: [number, number][] } | undefined;
const tasks: NonNullable<typeof task>[] = [];
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (isIdle(id) || t < fromUs || t > toUs) {
    if (task && task.us >= thresholdUs) tasks.push(task);
    task = undefined;
    return;
  }
  task ??= { start: t, us: 0, samples: [] };
  task.us += dt;
  task.samples.push([id, dt]);
});
if (task && task.us >= thresholdUs) tasks.push(task);

console.log(`${tasks.length} tasks ≥ ${thresholdUs / 1000} ms in ${(t / 1e6).toFixed(1)} s of profile`);
const totals = new Map<string, number>();
for (const k of tasks) {
  const self = new Map<string, number>();
  const outer = new Map<string, number>();
  for (const [id, dt] of k.samples) {
    self.set(label(byId.get(id)), (self.get(label(byId.get(id))) ?? 0) + dt);
    const a = appFrame(id);
    outer.set(a, (outer.get(a) ?? 0) + dt);
    totals.set(a, (totals.get(a) ?? 0) + dt);
  }
  const fmt = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `    ${(us / 1000).toFixed(1)} ms  ${name}`)
      .join("\n");
  console.log(`\nat ${(k.start / 1e6).toFixed(3)} s: ${(k.us / 1000).toFixed(1)} ms busy`);
  console.log(`  self:\n${fmt(self)}\n  by outermost app frame:\n${fmt(outer)}`);
}
console.log("\nover all long tasks, by outermost app frame:");
for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top * 2))
  console.log(`  ${(us / 1000).toFixed(1)} ms  ${name}`);
