import { createAgentRegistry, defaultAgents, type Tool } from "@threadline/agents";
import { type Env, loadWorkerConfig } from "@threadline/config";
import { createServiceLogger, installShutdown, runMain } from "@threadline/server";
import { connectWorkerDeps } from "./deps.js";
import { buildWorker } from "./worker.js";

export interface WorkerServiceOptions {
  /** Tools the agents may call beside the built-in ones. */
  tools?: Tool[];
}

/** The worker service as `main.ts` runs it: config from `env`, connections, agents, shutdown. */
export function runWorkerService(env: Env, options: WorkerServiceOptions = {}): Promise<void> {
  return runMain("worker", async () => {
    const config = loadWorkerConfig(env);
    const log = createServiceLogger("worker", config, process.stdout.isTTY === true);
    const connections = connectWorkerDeps(config, log);
    const agents = defaultAgents({
      providers: config.providers,
      ...(options.tools ? { tools: options.tools } : {}),
    });
    const worker = buildWorker(config, { ...connections, log, agents: createAgentRegistry(agents) });
    // The grace period for active runs, plus time to hand the rest back and close connections.
    installShutdown(
      {
        async close() {
          await worker.close();
          await connections.close();
        },
      },
      Math.max(config.shutdownTimeoutMs, config.graceMs + 10_000),
      log,
    );
    await worker.start();
  });
}
