import { randomBytes } from "node:crypto";

/**
 * Names a route's streams `<instance>:<prefix><n>`: the random instance part keeps ids unique across the
 * gateway instances writing to the same logs (and Redis watcher sets), the prefix tells the routes apart.
 */
export function createStreamIds(prefix: string): () => string {
  const instanceId = randomBytes(6).toString("hex");
  let count = 0;
  return () => `${instanceId}:${prefix}${++count}`;
}
