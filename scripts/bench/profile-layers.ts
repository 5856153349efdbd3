/**
 * Splits a V8 .cpuprofile's self time (from `pnpm bench --cpu-prof`) into layers — the socket write
 * system calls, Node's HTTP/net/stream code, ioredis, the server's own code, GC — as µs per delivery,
 * so a gateway and a floor profiled in one run compare layer by layer (docs/BENCHMARKS.md, round 5).
 * With the gateway run from its tsc build (`dist/`) instead of tsx, frames keep their line numbers.
 * Usage: tsx scripts/bench/profile-layers.ts <file.cpuprofile> <deliveries in the window> [from s] [to s]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, deliveriesArg, fromArg, toArg] = process.argv.slice(2);
const deliveries = Number(deliveriesArg);
if (!file || !(deliveries > 0))
  throw new Error("usage: profile-layers.ts <file.cpuprofile> <deliveries> [from s] [to s]");
const fromUs = Number(fromArg ?? 0) * 1e6;
const toUs = toArg === undefined ? Number.POSITIVE_INFINITY : Number(toArg) * 1e6;

/** The first rule that matches a frame names its layer. */
const LAYERS: [layer: string, test: (name: string, url: string) => boolean][] = [
  ["idle", (name) => name === "(idle)"],
  ["garbage collector", (name) => name === "(garbage collector)"],
  ["socket write syscalls", (name) => /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(name)],
  ["ioredis", (_, url) => url.includes("ioredis") || url.includes("denque")],
  ["node http/net/streams", (_, url) => /node:(_http|net|internal\/streams|internal\/stream_base)/.test(url)],
  ["node events", (_, url) => url.startsWith("node:events")],
  ["server's own code", (_, url) => /\/(services|packages)\/|floor-server/.test(url)],
  ["prom-client", (_, url) => url.includes("prom-client")],
  ["other node", (_, url) => url.startsWith("node:")],
];

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const layerUs = new Map<string, number>();
let at = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  const frame = byId.get(id)?.callFrame;
  if (at < fromUs || at > toUs || !frame) return;
  const layer = LAYERS.find(([, test]) => test(frame.functionName, frame.url))?.[0] ?? "other";
  layerUs.set(layer, (layerUs.get(layer) ?? 0) + dt);
});
const busy = [...layerUs].filter(([layer]) => layer !== "idle").reduce((sum, [, us]) => sum + us, 0);
console.log(`busy ${(busy / deliveries).toFixed(2)} µs per delivery\n`);
console.log("| layer | µs per delivery |\n|---|---|");
for (const [layer, us] of [...layerUs].filter(([l]) => l !== "idle").sort((a, b) => b[1] - a[1])) {
  console.log(`| ${layer} | ${(us / deliveries).toFixed(2)} |`);
}
