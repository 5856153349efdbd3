import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import { connectArchive, migrateArchive } from "@threadline/archive";
import type { ApiConfig } from "@threadline/config";
import { closeRedisClient, createRedisClient, createRunsQueue } from "@threadline/redis";
import type { Logger } from "pino";
import type { ApiDeps } from "./app.js";

export interface ConnectedDeps extends ApiDeps {
  close(): Promise<void>;
}

/**
 * Opens what the API needs: one command connection, the `runs` queue (its own connection) and, with
 * the archive on, a PostgreSQL pool (migrated before the API serves).
 */
export async function connectDeps(config: ApiConfig, log: Logger): Promise<ConnectedDeps> {
  const archive = config.archive
    ? connectArchive(config.archive.databaseUrl, { name: "threadline-api" })
    : undefined;
  if (archive) await migrateArchive(archive);
  const redis = createRedisClient(config.redis, { name: "threadline-api" });
  redis.on("error", (error: Error) => log.warn({ err: error }, "redis connection error (reconnecting)"));
  const queue = createRunsQueue(config.redis, { name: "threadline-api-queue" });
  queue.queue.on("error", (error: Error) =>
    log.warn({ err: error }, "queue connection error (reconnecting)"),
  );
  return {
    redis,
    createBlockingConnection: (name) => createRedisClient(config.redis, { name }),
    queue,
    // The LLM agents are listed from the provider env: unavailable ones are refused before queueing.
    agents: createAgentRegistry(defaultAgents({ providers: config.providers })),
    ...(archive ? { archive } : {}),
    log,
    async close() {
      await queue.close();
      await closeRedisClient(redis);
      await archive?.end({ timeout: 2 });
    },
  };
}
