import type { CommonConfig } from "./common.js";
import { loadWith } from "./common.js";
import { int, oneOf } from "./fields.js";
import type { Env } from "./load-config.js";

export interface GatewayConfig extends CommonConfig {
  heartbeatIntervalMs: number;
  retryMs: number;
  maxBufferBytes: number;
  maxConnections: number;
  maxStreamsPerSubject: number;
  subscriberMode: "dedicated" | "shared";
  watcherTtlMs: number;
  /** How long a stream request waits for Redis (log tail + SUBSCRIBE confirmed) before answering 503. */
  subscribeTimeoutMs: number;
  /** Threads one multiplexed connection (`GET /v1/events?threads=`) may carry. */
  maxThreadsPerConnection: number;
}

export function loadGatewayConfig(env: Env): GatewayConfig {
  const { common, parsed } = loadWith(env, 3001, {
    HEARTBEAT_INTERVAL_MS: int(100, 300_000, 15_000),
    SSE_RETRY_MS: int(0, 600_000, 1_000),
    SSE_MAX_BUFFER_BYTES: int(1024, 1024 * 1024 * 1024, 1024 * 1024),
    MAX_CONNECTIONS: int(1, 1_000_000, 10_000),
    MAX_STREAMS_PER_SUBJECT: int(1, 1_000_000, 100),
    SUBSCRIBER_MODE: oneOf(["dedicated", "shared"] as const, "dedicated"),
    WATCHER_TTL_MS: int(1_000, 3_600_000, 30_000),
    SUBSCRIBE_TIMEOUT_MS: int(100, 60_000, 5_000),
    MAX_THREADS_PER_CONNECTION: int(1, 10_000, 100),
  });
  return {
    ...common,
    heartbeatIntervalMs: parsed.HEARTBEAT_INTERVAL_MS,
    retryMs: parsed.SSE_RETRY_MS,
    maxBufferBytes: parsed.SSE_MAX_BUFFER_BYTES,
    maxConnections: parsed.MAX_CONNECTIONS,
    maxStreamsPerSubject: parsed.MAX_STREAMS_PER_SUBJECT,
    subscriberMode: parsed.SUBSCRIBER_MODE,
    watcherTtlMs: parsed.WATCHER_TTL_MS,
    subscribeTimeoutMs: parsed.SUBSCRIBE_TIMEOUT_MS,
    maxThreadsPerConnection: parsed.MAX_THREADS_PER_CONNECTION,
  };
}
