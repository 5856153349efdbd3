import { createRedisClient, type RedisClient } from "@threadline/redis";
import { type RedisFixture, useTestRedis } from "@threadline/testing";

/** The file's real Redis (the shared fixture) with an admin connection to publish and inspect with. */
export function useAdminRedis(): RedisFixture<RedisClient> {
  return useTestRedis((url) => createRedisClient({ url }, { name: "test-admin" }));
}

/** Connections in pub/sub state (`CLIENT LIST TYPE pubsub`): what the gateway's streams hold in Redis. */
export async function pubsubClients(admin: RedisClient): Promise<number> {
  return String(await admin.call("CLIENT", "LIST", "TYPE", "pubsub"))
    .split("\n")
    .filter((l) => l.trim() !== "").length;
}

/** `expect.poll` options: up to 10 s for the gateway and Redis to settle, looking every 20 ms. */
export const settle = (what: string) => ({ timeout: 10_000, interval: 20, message: `waiting for ${what}` });
