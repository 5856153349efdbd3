import { loadApiConfig } from "@threadline/config";
import { createServiceLogger, installShutdown, runMain } from "@threadline/server";
import { buildApi } from "./app.js";
import { connectDeps } from "./deps.js";

await runMain("api", async () => {
  const config = loadApiConfig(process.env);
  const log = createServiceLogger("api", config, process.stdout.isTTY === true);
  const deps = await connectDeps(config, log);
  const app = await buildApi(config, deps);
  installShutdown(
    {
      async close() {
        await app.close();
        await deps.close();
      },
    },
    config.shutdownTimeoutMs,
    log,
  );
  await app.listen({ host: config.host, port: config.port });
  log.info({ port: config.port, gatewayPublicUrl: config.gatewayPublicUrl }, "api listening");
});
