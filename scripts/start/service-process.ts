import { type ChildProcess, spawn } from "node:child_process";
import { waitForHttp } from "@threadline/testing";

export interface ServiceSpec {
  name: string;
  /** Arguments of `node` (the entry point, and flags before it), run in `cwd`. */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** GET this until it answers 200. */
  readyUrl: string;
}

export interface ServiceProcess {
  name: string;
  readyUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<string>;
  /** The last lines it printed, for a failure report. */
  tail(): string[];
  stop(timeoutMs: number): Promise<void>;
}

/** Starts a service as a child process in its own process group; every output line goes to `onLine`. */
export function startService(spec: ServiceSpec, onLine: (line: string) => void): ServiceProcess {
  const child = spawn(process.execPath, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ["ignore", "pipe", "pipe"],
    // Ctrl-C reaches only `pnpm start`, which stops the services first and Redis last.
    detached: true,
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 30) lines.shift();
        onLine(line);
      }
    });
  }
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
    child.once("error", (error) => resolve(`spawn error: ${error.message}`));
  });
  return {
    name: spec.name,
    readyUrl: spec.readyUrl,
    child,
    exited,
    tail: () => [...lines],
    async stop(timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls the service's readiness URL until it answers 200; rejects when the process exits first or after `timeoutMs`. */
export async function waitReady(service: ServiceProcess, timeoutMs: number): Promise<void> {
  let exit: string | undefined;
  service.exited.then((how) => {
    exit = how;
  });
  try {
    await waitForHttp(service.readyUrl, timeoutMs, () => exit === undefined);
  } catch (error) {
    if (exit !== undefined) throw new Error(`${service.name} exited (${exit}) before it was ready`);
    throw new Error(`${service.name} was not ready: ${(error as Error).message}`);
  }
}
