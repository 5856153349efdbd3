import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import { loadWorkerConfig } from "@threadline/config";
import { createServiceLogger, installShutdown, runMain } from "@threadline/server";
import { connectWorkerDeps } from "./deps.js";
import { buildWorker } from "./worker.js";

// The only file that reads process.env.
await runMain("worker", async () => {
  const config = loadWorkerConfig(process.env);
  const log = createServiceLogger("worker", config, process.stdout.isTTY === true);
  const connections = connectWorkerDeps(config, log);
  const worker = buildWorker(config, {
    ...connections,
    log,
    agents: createAgentRegistry(defaultAgents({ providers: config.providers })),
  });
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
