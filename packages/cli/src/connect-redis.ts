import type { RedisClient } from "@threadline/redis";
import { CliError } from "./cli-error.js";

/**
 * Connects a lazy client, failing fast with one line (instead of retrying forever) when Redis is down.
 * `label` names the Redis and where it came from (CliConfig.redisLabel).
 */
export async function connectOrFail(client: RedisClient, label: string, timeoutMs = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let lastError: Error | undefined;
  // Without a listener ioredis prints every failed reconnect; we report one line instead.
  client.on("error", (error: Error) => {
    lastError = error;
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect(), timeout]);
    await Promise.race([client.ping(), timeout]);
  } catch (error) {
    client.disconnect();
    throw new CliError(
      `cannot reach Redis at ${label}: ${lastError?.message ?? (error as Error).message}; is it running? set REDIS_URL`,
    );
  } finally {
    clearTimeout(timer);
  }
}
