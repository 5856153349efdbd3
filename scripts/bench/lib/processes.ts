/** The servers under test as child processes (packages/testing's startProcess), pinned to a core. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { type ManagedProcess, startProcess } from "@threadline/testing";

export interface Proc extends ManagedProcess {
  /** RSS in bytes of the process and its descendants (nginx workers). */
  rss(): number;
  /** CPU time (user + system, ms) used so far by the process and its descendants. */
  cpuMs(): number;
  /** The system (kernel) part of cpuMs. */
  systemCpuMs(): number;
  /** Read and write system calls made so far by the process and its descendants (/proc/<pid>/io). */
  syscalls(): { reads: number; writes: number };
}

let canPin: boolean | undefined;

/** True when `taskset` works here; without it the bench runs unpinned and says so. */
export function pinningAvailable(): boolean {
  canPin ??= hasTaskset();
  return canPin;
}

/** The environment a server under test inherits: the bench entry point's own `process.env`. */
export type ParentEnv = Record<string, string | undefined>;

export async function startPinned(options: {
  name: string;
  command: string;
  args: string[];
  /** What the child inherits (the caller's environment); `env` is laid on top. */
  parentEnv: ParentEnv;
  env?: Record<string, string>;
  core?: number;
  cwd?: string;
  readyUrl: string;
}): Promise<Proc> {
  const pinned = options.core !== undefined && pinningAvailable();
  // taskset execs the command, so the pid we get is the server's own.
  const proc = await startProcess({
    name: options.name,
    command: pinned ? "taskset" : options.command,
    args: pinned ? ["-c", String(options.core), options.command, ...options.args] : options.args,
    cwd: options.cwd,
    env: { ...options.parentEnv, ...options.env },
    readyUrl: options.readyUrl,
    readyTimeoutMs: 60_000,
    keepOutputChars: 8_000,
  });
  return Object.assign(proc, {
    rss: () => treeRss(proc.pid),
    cpuMs: () => treeCpuMs(proc.pid, [11, 12]),
    systemCpuMs: () => treeCpuMs(proc.pid, [12]),
    syscalls: () => treeSyscalls(proc.pid),
  });
}

function treeRss(pid: number): number {
  let total = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1];
      total += Number(kb ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

/** CPU time (user + system, ms) used so far by any process and its descendants (e.g. Redis). */
export function processCpuMs(pid: number): number {
  return treeCpuMs(pid, [11, 12]);
}

/** Sums fields of /proc/<pid>/stat after the command name: 11 = utime, 12 = stime (0-based). */
function treeCpuMs(pid: number, fieldIndexes: number[]): number {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      for (const i of fieldIndexes) ticks += Number(fields[i]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks * TICK_MS;
}

function treeSyscalls(pid: number): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const io = readFileSync(`/proc/${p}/io`, "utf8");
      reads += Number(/^syscr:\s+(\d+)/m.exec(io)?.[1] ?? 0);
      writes += Number(/^syscw:\s+(\d+)/m.exec(io)?.[1] ?? 0);
    } catch {
      // exited meanwhile, or /proc/<pid>/io not readable here
    }
  }
  return { reads, writes };
}

function descendants(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    const children = text ? text.split(/\s+/).map(Number) : [];
    return children.flatMap((c) => [c, ...descendants(c)]);
  } catch {
    return [];
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
