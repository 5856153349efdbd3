import type { GatewayConfig } from "@threadline/config";
import { createDedicatedSubscriber } from "./dedicated-subscriber.js";
import { createSharedSubscriber } from "./shared-subscriber.js";
import type { GatewayDeps, ThreadSubscriber } from "./types.js";

/** SUBSCRIBER_MODE: `dedicated` (one connection per stream) or `shared` (one per instance). */
export function createSubscriberForMode(
  mode: GatewayConfig["subscriberMode"],
  deps: GatewayDeps,
): ThreadSubscriber {
  if (mode === "shared") return createSharedSubscriber(deps.createSubscriberConnection("gateway-shared-sub"));
  return createDedicatedSubscriber((name) => deps.createSubscriberConnection(name));
}

/**
 * The subscriber a multiplexed connection (many threads) subscribes through. Dedicated mode: ONE
 * fresh Redis connection for the whole client connection, multiplexing its threads exactly as the
 * instance-wide shared subscriber does (SUBSCRIBE adds a channel; on a Cluster, one per shard), closed
 * with it. Shared mode: the instance's subscriber, which the connection must not close.
 */
export function createConnectionSubscriberFactory(
  mode: GatewayConfig["subscriberMode"],
  deps: GatewayDeps,
  instance: ThreadSubscriber,
): () => ThreadSubscriber {
  if (mode === "shared") return () => ({ subscribe: instance.subscribe, close: async () => {} });
  return () => createSharedSubscriber(deps.createSubscriberConnection("gateway-sub"));
}
