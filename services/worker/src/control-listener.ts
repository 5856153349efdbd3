import type { ControlMessage } from "@threadline/protocol";
import { type ControlSubscription, type RedisClient, subscribeControl } from "@threadline/redis";
import type { Logger } from "pino";

export type ControlListener = ControlSubscription;

/**
 * Subscribes a dedicated connection to the control channel, where the API announces cancels to
 * every worker (only the one holding the run acts). Invalid messages are logged and dropped.
 */
export function listenForControl(
  connection: RedisClient,
  log: Logger,
  onMessage: (message: ControlMessage) => void,
): ControlListener {
  return subscribeControl(connection, {
    onMessage,
    onInvalid: ({ preview, reason, issues }) =>
      log.warn(
        { preview, ...(issues === undefined ? {} : { issues }) },
        reason === "not_json" ? "control message is not JSON; dropped" : "invalid control message; dropped",
      ),
    onError: (error) => log.warn({ err: error }, "control connection error"),
  });
}
