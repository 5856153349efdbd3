import type { ArchiveReader } from "@threadline/archive";
import type { RedisClient, ThreadSubscription, ThreadSubscriptionHandlers } from "@threadline/redis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

/** What the gateway is given; it closes only what it opens itself (subscriber connections). */
export interface GatewayDeps {
  log: Logger;
  /** Command connection (replay reads, owner lookups, watcher set, readiness). Owned by the caller. */
  redis: RedisClient;
  /** Opens a fresh connection for pub/sub; the gateway closes every connection it opens this way. */
  createSubscriberConnection(name: string): RedisClient;
  /**
   * The PostgreSQL archive (ARCHIVE on): replay of what Redis no longer holds, and thread owners after
   * their meta expired. Owned by the caller.
   */
  archive?: ArchiveReader;
  /** Where metrics are registered; a fresh registry when omitted. */
  registry?: Registry;
  now?: () => number;
}

export interface StreamSubscriptionHandlers extends ThreadSubscriptionHandlers {
  /**
   * The subscriber connection dropped. ioredis resubscribes on reconnect and messages may flow again
   * before `onResubscribed` confirms it, so the stream must start buffering now: the backfill has to
   * start from the last id delivered BEFORE the gap.
   */
  onDisconnected?(): void;
}

/** Delivers a thread's channel messages to one stream; `dedicated` and `shared` modes implement it. */
export interface ThreadSubscriber {
  subscribe(threadId: string, handlers: StreamSubscriptionHandlers): ThreadSubscription;
  /** Closes every connection the subscriber opened. */
  close(): Promise<void>;
}

/** Why a stream ended: logged, and the cut-off reason counted. */
export type StreamEndReason =
  | "client_closed"
  | "done"
  | "token_expired"
  | "slow_consumer"
  | "shutdown"
  | "replay_failed"
  /** WebSocket: no pong since the last ping (a half-open connection). */
  | "heartbeat_timeout"
  /** The client left, Redis failed or the gateway began closing before the stream was set up. */
  | "abandoned";
