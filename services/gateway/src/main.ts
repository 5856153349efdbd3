import { connectArchive, createArchiveReader, migrateArchive } from "@threadline/archive";
import { loadGatewayConfig } from "@threadline/config";
import { closeRedisClient, createRedisClient } from "@threadline/redis";
import { createServiceLogger, installShutdown, runMain } from "@threadline/server";
import { buildGateway } from "./app.js";

// The only file that reads process.env.
await runMain("gateway", async () => {
  const config = loadGatewayConfig(process.env);
  const log = createServiceLogger("gateway", config, process.stdout.isTTY === true);
  const redis = createRedisClient(config.redis, { name: "gateway" });
  redis.on("error", (error: Error) => log.warn({ err: error }, "redis connection error (reconnecting)"));
  const sql = config.archive
    ? connectArchive(config.archive.databaseUrl, { name: "threadline-gateway" })
    : undefined;
  if (sql) await migrateArchive(sql);
  const app = await buildGateway(config, {
    log,
    redis,
    ...(sql ? { archive: createArchiveReader(sql) } : {}),
    createSubscriberConnection: (name) => createRedisClient(config.redis, { name }),
  });
  installShutdown(
    {
      close: async () => {
        await app.close();
        await closeRedisClient(redis);
        await sql?.end({ timeout: 2 });
      },
    },
    config.shutdownTimeoutMs,
    log,
  );
  await app.listen({ host: config.host, port: config.port });
  log.info({ mode: config.subscriberMode, port: config.port }, "gateway listening");
});
