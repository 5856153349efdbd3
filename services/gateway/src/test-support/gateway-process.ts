import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { childEnv, freePort } from "@threadline/testing";

export interface GatewayProcess {
  child: ChildProcess;
  base: string;
  /** Every stdout line so far (JSON log lines). */
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code once the process exits. */
  exited: Promise<number | null>;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  kill(signal?: NodeJS.Signals): void;
}

const gatewayRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `src/main.ts` as a real child process (tsx, source conditions) on a free port; resolves once it listens. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--conditions=@threadline/source", "--import", "tsx", "src/main.ts"],
    {
      cwd: gatewayRoot,
      env: { ...childEnv(), HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const listening = new Promise<void>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        stdout.push(line);
        if (line.includes('"gateway listening"')) resolve();
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    void exited.then((code) =>
      reject(new Error(`gateway exited with ${code} before listening: ${stderr.join("")}`)),
    );
  });
  const timeout = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    await listening;
  } finally {
    clearTimeout(timeout);
  }
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    stdout,
    stderr,
    exited,
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    kill: (signal = "SIGTERM") => child.kill(signal),
  };
}
