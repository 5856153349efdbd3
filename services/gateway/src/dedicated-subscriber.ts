import { onSubscriberLost, type RedisClient, subscribeThread } from "@threadline/redis";
import type { ThreadSubscriber } from "./types.js";

/**
 * `SUBSCRIBER_MODE=dedicated`: every stream gets its own Redis connection, subscribed to one
 * channel and closed (disconnected) when the stream ends. Simple isolation: a slow or broken
 * subscription never affects another client; it costs one Redis connection per SSE client.
 */
export function createDedicatedSubscriber(open: (name: string) => RedisClient): ThreadSubscriber {
  return {
    subscribe(threadId, handlers) {
      const connection = open("gateway-sub");
      // `close` on a standalone client; a dropped shard subscriber on a Cluster (which stays up).
      onSubscriberLost(connection, () => handlers.onDisconnected?.());
      return subscribeThread(connection, threadId, handlers);
    },
    close: async () => {},
  };
}
