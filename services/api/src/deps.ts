import { createAgentRegistry, defaultAgents } from "@threadline/agents";
import type { ApiConfig } from "@threadline/config";
import { closeRedisClient, createRedisClient, createRunsQueue } from "@threadline/redis";
import type { ApiDeps } from "./app.js";

export interface ConnectedDeps extends ApiDeps {
  close(): Promise<void>;
}

/** Opens what the API needs: one command connection and the `runs` queue (its own connection). */
export function connectDeps(config: ApiConfig): ConnectedDeps {
  const redis = createRedisClient(config.redis, { name: "threadline-api" });
  const queue = createRunsQueue(config.redis, { name: "threadline-api-queue" });
  return {
    redis,
    queue,
    agents: createAgentRegistry(defaultAgents()),
    async close() {
      await queue.close();
      await closeRedisClient(redis);
    },
  };
}
