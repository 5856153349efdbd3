import type { RedisClient } from "./connections.js";
import { isCluster } from "./connections.js";
import { keys } from "./keys.js";

/**
 * The event a connection emits once its subscriptions are live again after a reconnect. A standalone
 * client emits `ready`. A Cluster with `shardedSubscribers` keeps one subscriber connection per shard
 * BESIDES its command connections: when one of those drops (`CLIENT KILL TYPE pubsub`, a failover) the
 * cluster stays `ready` and, once it has replaced the subscriber and re-sent its SSUBSCRIBEs, emits
 * `subscribersReady`.
 */
export function resubscribedEvent(connection: RedisClient): "ready" | "subscribersReady" {
  return isCluster(connection) ? "subscribersReady" : "ready";
}

export interface ThreadSubscriptionHandlers {
  onMessage(raw: Buffer, channel: string): void;
  /**
   * Called after the connection dropped and the subscription is live again. Messages published in
   * between were lost by pub/sub: the caller backfills from the replay log.
   */
  onResubscribed?(): void;
  /** Connection-level errors (already retried by ioredis); for logging. */
  onError?(error: Error): void;
}

export interface ThreadSubscription {
  /** Resolves once the subscription is confirmed by Redis: anything published after is delivered. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Subscribes ONE dedicated connection (`connection`, not shared with commands) to a thread's
 * channel: SUBSCRIBE, or SSUBSCRIBE on a cluster. Closing the subscription closes the connection.
 */
export function subscribeThread(
  connection: RedisClient,
  threadId: string,
  handlers: ThreadSubscriptionHandlers,
): ThreadSubscription {
  const channel = keys.threadChannel(threadId);
  const sharded = isCluster(connection);
  const subscribe = () => (sharded ? connection.ssubscribe(channel) : connection.subscribe(channel));
  let closed = false;
  let everReady = false;

  // The connection holds this one channel: no need to decode the channel name of every message.
  const onMessage = (_channel: Buffer | string, message: Buffer) => handlers.onMessage(message, channel);
  const onError = (error: Error) => handlers.onError?.(error);
  // ioredis resubscribes by itself on reconnect, without telling us when it is done: confirm with our
  // own (idempotent) subscribe, then let the caller backfill.
  const onReady = () => {
    if (!everReady || closed) return;
    subscribe().then(
      () => !closed && handlers.onResubscribed?.(),
      (error: Error) => handlers.onError?.(error),
    );
  };

  connection.on(sharded ? "smessageBuffer" : "messageBuffer", onMessage);
  connection.on("error", onError);
  connection.on(resubscribedEvent(connection), onReady);

  const ready = subscribe().then(() => {
    everReady = true;
  });
  ready.catch(() => {});

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      connection.off(sharded ? "smessageBuffer" : "messageBuffer", onMessage);
      connection.off(resubscribedEvent(connection), onReady);
      connection.disconnect();
      connection.off("error", onError);
    },
  };
}
