import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import type { ApiConfig } from "@threadline/config";
import { closeRedisClient, createRedisClient, createRunsQueue } from "@threadline/redis";
import type { Logger } from "pino";
import type { ApiDeps } from "./app.js";

export interface ConnectedDeps extends ApiDeps {
  close(): Promise<void>;
}

/** Opens what the API needs: one command connection and the `runs` queue (its own connection). */
export function connectDeps(config: ApiConfig, log: Logger): ConnectedDeps {
  const redis = createRedisClient(config.redis, { name: "threadline-api" });
  redis.on("error", (error: Error) => log.warn({ err: error }, "redis connection error (reconnecting)"));
  const queue = createRunsQueue(config.redis, { name: "threadline-api-queue" });
  queue.queue.on("error", (error: Error) =>
    log.warn({ err: error }, "queue connection error (reconnecting)"),
  );
  return {
    redis,
    queue,
    // The LLM agents are listed from the provider env: unavailable ones are refused before queueing.
    agents: createAgentRegistry(defaultAgents({ providers: config.providers })),
    log,
    async close() {
      await queue.close();
      await closeRedisClient(redis);
    },
  };
}
