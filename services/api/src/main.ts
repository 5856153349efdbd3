import { loadApiConfig } from "@threadline/config";
import { createLogger, installShutdown, runMain } from "@threadline/server";
import { buildApi } from "./app.js";
import { connectDeps } from "./deps.js";

await runMain("api", async () => {
  const config = loadApiConfig(process.env);
  const log = createLogger({
    service: "api",
    level: config.logLevel,
    pretty: process.env.LOG_PRETTY === "1",
  });
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
