import { ControlMessage, preview } from "@threadline/protocol";
import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";

/** Announces a control message (e.g. a cancel) to every worker; only the one holding the run acts. */
export async function sendControl(client: RedisClient, message: ControlMessage): Promise<void> {
  await client.publish(keys.controlChannel(), JSON.stringify(message));
}

export interface ControlHandlers {
  onMessage(message: ControlMessage): void;
  /** A message on the channel that is not a valid ControlMessage (dropped). */
  onInvalid(problem: { preview: string; reason: "not_json" | "invalid"; issues?: number }): void;
  onError(error: Error): void;
}

export interface ControlSubscription {
  /** Resolves once the subscription is live. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Subscribes a dedicated connection to the control channel; closing it closes the connection. */
export function subscribeControl(connection: RedisClient, handlers: ControlHandlers): ControlSubscription {
  const channel = keys.controlChannel();
  const handle = (from: string, raw: string) => {
    if (from !== channel) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      handlers.onInvalid({ preview: preview(raw, 120), reason: "not_json" });
      return;
    }
    const parsed = ControlMessage.safeParse(json);
    if (!parsed.success) {
      handlers.onInvalid({
        preview: preview(raw, 120),
        reason: "invalid",
        issues: parsed.error.issues.length,
      });
      return;
    }
    handlers.onMessage(parsed.data);
  };
  const onError = (error: Error) => handlers.onError(error);
  connection.on("message", handle);
  connection.on("error", onError);
  const ready = connection.subscribe(channel).then(() => undefined);
  ready.catch(() => {});
  return {
    ready,
    async close() {
      connection.off("message", handle);
      connection.disconnect();
      connection.off("error", onError);
    },
  };
}
