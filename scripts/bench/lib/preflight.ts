/** Checks what the bench needs before it starts anything, and says how to install what is missing. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pinningAvailable } from "./processes.js";

const NCHAN_MODULES = [
  "/usr/lib/nginx/modules/ngx_nchan_module.so",
  "/usr/share/nginx/modules/ngx_nchan_module.so",
];

export interface Preflight {
  nchanModule?: string;
  pinned: boolean;
  openFiles: number;
  notes: string[];
}

export function preflight(options: {
  repoRoot: string;
  needNchan: boolean;
  needOpenFiles: number;
}): Preflight {
  const problems: string[] = [];
  const notes: string[] = [];
  if (!runs("redis-server", ["--version"])) {
    problems.push("redis-server not found: apt-get install -y redis-server (or brew install redis)");
  }
  let nchanModule: string | undefined;
  if (options.needNchan) {
    nchanModule = NCHAN_MODULES.find((p) => existsSync(p));
    if (!runs("nginx", ["-v"]) || !nchanModule) {
      problems.push(
        "the Nchan peer needs nginx with the Nchan module: apt-get install -y nginx libnginx-mod-nchan " +
          "(or leave it out: --targets dedicated,shared,floorA,floorB)",
      );
    }
  }
  if (!existsSync(join(options.repoRoot, "services/gateway/src/main.ts"))) {
    problems.push("services/gateway/src/main.ts is missing: run the bench from a full Threadline checkout");
  }
  if (problems.length > 0) {
    throw new Error(`pnpm bench cannot start:\n  - ${problems.join("\n  - ")}`);
  }
  const pinned = pinningAvailable();
  if (!pinned)
    notes.push("taskset not available (apt-get install -y util-linux): servers are NOT pinned to a core");
  const openFiles = openFilesLimit();
  if (openFiles < options.needOpenFiles) {
    notes.push(
      `open-files limit is ${openFiles} and S3 needs about ${options.needOpenFiles} (a dedicated-mode gateway holds ` +
        "a client socket AND a Redis subscriber per connection): raise the hard limit (ulimit -Hn, needs " +
        "CAP_SYS_RESOURCE) or expect the largest idle level to fail with EMFILE",
    );
  }
  return { nchanModule, pinned, openFiles, notes };
}

function runs(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function openFilesLimit(): number {
  const line = /Max open files\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
  return line === "unlimited" ? Number.POSITIVE_INFINITY : Number(line ?? 1024);
}
