import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import { loadWorkerConfig } from "@threadline/config";
import { createLogger, installShutdown, runMain } from "@threadline/server";
import { buildWorker } from "./worker.js";

await runMain("worker", async () => {
  const config = loadWorkerConfig(process.env);
  const log = createLogger({ service: "worker", level: config.logLevel, pretty: process.stdout.isTTY });
  const worker = buildWorker(config, {
    log,
    agents: createAgentRegistry(defaultAgents({ providers: config.providers })),
  });
  // The grace period for active runs, plus time to hand the rest back and close connections.
  installShutdown(worker, Math.max(config.shutdownTimeoutMs, config.graceMs + 10_000), log);
  await worker.start();
});
