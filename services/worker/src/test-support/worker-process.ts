import { fileURLToPath } from "node:url";
import { freePort, type ManagedProcess, startProcess } from "@threadline/testing";

const workerDir = fileURLToPath(new URL("../..", import.meta.url));

export interface WorkerProcess extends ManagedProcess {
  port: number;
  /** Runs the process is executing now, read from its /metrics. */
  activeRuns(): Promise<number>;
}

/** Starts `src/main.ts` as a real child process (from source via tsx) and waits for /readyz. */
export async function startWorkerProcess(name: string, env: Record<string, string>): Promise<WorkerProcess> {
  const port = await freePort();
  const child = await startProcess({
    name,
    command: process.execPath,
    args: ["--conditions=@threadline/source", "--import", "tsx", "src/main.ts"],
    cwd: workerDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "info", PORT: String(port), ...env },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  return {
    ...child,
    port,
    async activeRuns() {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^threadline_worker_active_runs (\d+)/m.exec(text)?.[1] ?? "NaN");
    },
  };
}
