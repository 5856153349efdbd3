import { isCluster, keys, onSubscriberLost, type RedisClient, resubscribedEvent } from "@threadline/redis";
import type { StreamSubscriptionHandlers, ThreadSubscriber } from "./types.js";

interface ChannelEntry {
  handlers: Set<StreamSubscriptionHandlers>;
  /** Resolves once Redis confirmed the SUBSCRIBE issued when the first stream joined. */
  ready: Promise<void>;
}

/**
 * `SUBSCRIBER_MODE=shared`: one connection per gateway instance, multiplexing every stream. A
 * channel is subscribed when its first stream joins and unsubscribed when its last one leaves
 * (ref-counted). After a reconnect ioredis resubscribes every channel; we confirm each with our own
 * (idempotent) SUBSCRIBE and then tell that channel's streams to backfill from the replay log, exactly
 * like a dedicated subscription does.
 */
export function createSharedSubscriber(connection: RedisClient): ThreadSubscriber {
  const sharded = isCluster(connection);
  const channels = new Map<string, ChannelEntry>();
  const subscribe = (channel: string) =>
    (sharded ? connection.ssubscribe(channel) : connection.subscribe(channel)).then(() => undefined);
  const unsubscribe = (channel: string) =>
    (sharded ? connection.sunsubscribe(channel) : connection.unsubscribe(channel)).then(() => undefined);
  // A Cluster's subscribersReady only ever means "again"; a standalone client's first ready is the first connect.
  let connectedOnce = connection.status === "ready" || sharded;
  /**
   * Channels released while the connection was down: ioredis may resubscribe them on reconnect
   * (it restores what it had before the drop), so they are unsubscribed again once it is back.
   */
  const releasedOffline = new Set<string>();

  connection.on(sharded ? "smessageBuffer" : "messageBuffer", (channel: Buffer | string, message: Buffer) => {
    const name = channel.toString();
    const entry = channels.get(name);
    if (!entry) return;
    for (const handlers of entry.handlers) handlers.onMessage(message, name);
  });
  connection.on("error", (error: Error) => {
    for (const entry of channels.values()) for (const handlers of entry.handlers) handlers.onError?.(error);
  });
  onSubscriberLost(connection, () => {
    for (const entry of channels.values()) for (const handlers of entry.handlers) handlers.onDisconnected?.();
  });
  // A Cluster signals `subscribersReady` when its shard subscribers are back (it stays `ready`).
  connection.on(resubscribedEvent(connection), () => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    for (const channel of releasedOffline)
      if (!channels.has(channel)) void unsubscribe(channel).catch(() => {});
    releasedOffline.clear();
    for (const [channel, entry] of channels) {
      subscribe(channel).then(
        () => {
          if (channels.get(channel) !== entry) return;
          for (const handlers of entry.handlers) handlers.onResubscribed?.();
        },
        (error: Error) => {
          for (const handlers of entry.handlers) handlers.onError?.(error);
        },
      );
    }
  });

  return {
    subscribe(threadId, handlers) {
      const channel = keys.threadChannel(threadId);
      let entry = channels.get(channel);
      if (!entry) {
        const created: ChannelEntry = { handlers: new Set(), ready: subscribe(channel) };
        created.ready.catch(() => {
          if (channels.get(channel) === created) channels.delete(channel);
        });
        channels.set(channel, created);
        entry = created;
      }
      entry.handlers.add(handlers);
      const joined = entry;
      let closed = false;
      return {
        ready: joined.ready,
        async close() {
          if (closed) return;
          closed = true;
          joined.handlers.delete(handlers);
          if (joined.handlers.size > 0 || channels.get(channel) !== joined) return;
          channels.delete(channel);
          if (connection.status !== "ready") releasedOffline.add(channel);
          await unsubscribe(channel).catch(() => {});
        },
      };
    },
    async close() {
      channels.clear();
      connection.disconnect();
    },
  };
}
