import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";

export interface ProcessOptions {
  /** For messages and logs, e.g. "gateway-1". */
  name: string;
  command: string;
  args?: string[];
  cwd?: string;
  /** The child's whole environment (nothing is inherited unless you pass it). */
  env?: Record<string, string | undefined>;
  /** Resolve only once a GET of this URL answers 200 (e.g. the service's /readyz). */
  readyUrl?: string;
  /** How long to wait for `readyUrl`; default 30 s. */
  readyTimeoutMs?: number;
  /** Keep at most this many characters of combined stdout+stderr (the tail); default 64 KiB. */
  keepOutputChars?: number;
  /** Aborting it while the process is not ready yet stops the process and rejects the start. */
  signal?: AbortSignal;
}

/** A running child process with its recent output, for tests and local topologies. */
export interface ManagedProcess {
  name: string;
  pid: number;
  /** Recent stdout+stderr, for failure messages. */
  output(): string;
  /** Resolves with the exit code (or the signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the process exited. */
  alive(): boolean;
  /** Sends a signal (SIGKILL for crash tests) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves once gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a long-running process and, when `readyUrl` is given, waits until it answers 200. A
 * process that exits before it is ready rejects with its output, so a bad config shows up as the
 * service's own error line instead of a timeout.
 */
export async function startProcess(options: ProcessOptions): Promise<ManagedProcess> {
  const keep = options.keepOutputChars ?? 64 * 1024;
  let output = "";
  const child: ChildProcess = spawn(options.command, options.args ?? [], {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  installExitHook();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > keep) output = output.slice(-keep);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);

  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once("error", (error) => {
      done = true;
      append(Buffer.from(`cannot run ${options.command}: ${error.message}\n`));
      resolve({ code: null, signal: null });
    });
  });

  const handle: ManagedProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    alive: () => !done,
    async kill(signal = "SIGTERM") {
      if (done) return;
      child.kill(signal);
      await exited;
    },
    async stop(graceMs = 5_000) {
      if (done) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };

  if (options.readyUrl) {
    const ready = waitForHttp(options.readyUrl, options.readyTimeoutMs ?? 30_000, () => !done);
    const early = exited.then(({ code, signal }) => {
      throw new Error(
        `${options.name} exited (${signal ?? `code ${code}`}) before ${options.readyUrl} answered:\n${output.trim()}`,
      );
    });
    early.catch(() => {});
    const aborted = new Promise<never>((_, reject) => {
      const abort = () =>
        reject(new Error(`${options.name}: start aborted before ${options.readyUrl} answered`));
      if (options.signal?.aborted) abort();
      options.signal?.addEventListener("abort", abort, { once: true });
      void exited.then(() => options.signal?.removeEventListener("abort", abort));
    });
    aborted.catch(() => {});
    try {
      await Promise.race([ready, early, aborted]);
    } catch (error) {
      await handle.stop(1_000);
      throw error instanceof Error && !error.message.startsWith(options.name)
        ? new Error(`${options.name}: ${error.message}\n${output.trim()}`)
        : error;
    }
  }
  return handle;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test runner or script that exits (normally or via process.exit) takes its children with it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/** Polls `url` until it answers 200; rejects after `timeoutMs` or as soon as `keepGoing()` is false. */
export async function waitForHttp(url: string, timeoutMs = 30_000, keepGoing = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (keepGoing()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${url}: the process is gone`);
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small race until it is bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
