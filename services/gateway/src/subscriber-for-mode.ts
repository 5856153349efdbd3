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
