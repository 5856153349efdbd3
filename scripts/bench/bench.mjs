#!/usr/bin/env node
// `pnpm bench`: raises the open-files limit (S3 holds 10,000 SSE sockets and as many Redis
// subscribers), pins the load client to core 0 when taskset exists, and runs main.ts with tsx.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const core = process.env.BENCH_CLIENT_CORE ?? "0";
const pin =
  spawnSync("taskset", ["-c", core, "true"]).status === 0 && core !== "none" ? ["taskset", "-c", core] : [];
const main = [
  process.execPath,
  "--conditions=@threadline/source",
  "--import",
  "tsx",
  "scripts/bench/main.ts",
];
const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
// pnpm forwards the `--` of `pnpm bench -- --quick` (and `pnpm bench:quick -- --baseline x` puts it
// after --quick): drop it wherever it is, so the options parse.
const args = process.argv.slice(2).filter((arg) => arg !== "--");
const result = spawnSync("sh", ["-c", script, "sh", ...pin, ...main, ...args], {
  cwd: root,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
