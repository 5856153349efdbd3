import type { Cluster } from "ioredis";
import { isCluster, type RedisClient } from "./connections.js";

/**
 * Calls `listener` as soon as a subscriber connection drops, so the caller can hold live messages
 * back until it has backfilled the gap (see `resubscribedEvent` for the other end). A standalone
 * client emits `close`. A Cluster with `shardedSubscribers` stays up when one of its per-shard
 * subscriber connections dies; ioredis then emits `-node` with the subscriber's node key (its
 * command-pool `-node` carries no key). Returns a function that removes the listener.
 */
export function onSubscriberLost(connection: RedisClient, listener: () => void): () => void {
  if (!isCluster(connection)) {
    connection.on("close", listener);
    return () => connection.off("close", listener);
  }
  const cluster: Cluster = connection;
  const onNode = (_redis: unknown, nodeKey?: string) => {
    if (nodeKey !== undefined) listener();
  };
  cluster.on("-node", onNode);
  return () => cluster.off("-node", onNode);
}
