import { ControlMessage } from "@threadline/protocol";
import { keys, type RedisClient } from "@threadline/redis";
import type { Logger } from "pino";

export interface ControlListener {
  /** Resolves once the subscription is live. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Subscribes a dedicated connection to the control channel, where the API announces cancels to
 * every worker (only the one holding the run acts). Invalid messages are logged and dropped.
 */
export function listenForControl(
  connection: RedisClient,
  log: Logger,
  onMessage: (message: ControlMessage) => void,
): ControlListener {
  const channel = keys.controlChannel();
  const handle = (from: string, raw: string) => {
    if (from !== channel) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      log.warn({ preview: raw.slice(0, 120) }, "control message is not JSON; dropped");
      return;
    }
    const parsed = ControlMessage.safeParse(json);
    if (!parsed.success) {
      log.warn(
        { preview: raw.slice(0, 120), issues: parsed.error.issues.length },
        "invalid control message; dropped",
      );
      return;
    }
    onMessage(parsed.data);
  };
  connection.on("message", handle);
  connection.on("error", (error: Error) => log.warn({ err: error }, "control connection error"));
  const ready = connection.subscribe(channel).then(() => undefined);
  ready.catch(() => {});
  return {
    ready,
    async close() {
      connection.off("message", handle);
      connection.disconnect();
    },
  };
}
