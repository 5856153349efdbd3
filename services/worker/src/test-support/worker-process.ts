import { type ManagedProcess, startServiceProcess } from "@threadline/testing";

export interface WorkerProcess extends ManagedProcess {
  port: number;
  /** Runs the process is executing now, read from its /metrics. */
  activeRuns(): Promise<number>;
}

/**
 * Starts `src/main.ts` (or `entry`, a test entry point) as a real child process (from source via tsx) and
 * waits for /readyz (by default).
 */
export async function startWorkerProcess(
  name: string,
  env: Record<string, string>,
  options: { waitForReady?: boolean; entry?: string } = {},
): Promise<WorkerProcess> {
  const worker = await startServiceProcess({
    kind: "worker",
    name,
    env: { LOG_LEVEL: "info", ...env },
    ...options,
  });
  return {
    ...worker.process,
    port: worker.port,
    async activeRuns() {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      return Number(/^threadline_worker_active_runs (\d+)/m.exec(text)?.[1] ?? "NaN");
    },
  };
}
