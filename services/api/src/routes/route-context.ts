import type { AgentRegistry } from "@threadline/agents";
import type { ArchiveReader, ArchiveSql, ReadPage } from "@threadline/archive";
import type { ApiConfig } from "@threadline/config";
import type {
  EventPublisher,
  ExternalRuns,
  RedisClient,
  RunLifecycle,
  RunRecords,
  RunsQueue,
} from "@threadline/redis";
import type { ExternalLifecycle } from "../external/external-lifecycle.js";
import type { RunMetrics } from "../run-metrics.js";
import type { ThreadAccess } from "../thread-access.js";

/** What every route handler uses, wired once in `buildApi`. */
export interface RouteContext {
  config: ApiConfig;
  redis: RedisClient;
  queue: Pick<RunsQueue, "enqueue" | "removeQueued">;
  /** Reads run records (every write is a lifecycle transition). */
  runs: RunRecords;
  lifecycle: RunLifecycle;
  /** Publishes events external producers send over HTTP (publish-events route). */
  publisher: EventPublisher;
  access: ThreadAccess;
  agents: Pick<AgentRegistry, "validateInput">;
  metrics: RunMetrics;
  /** The index of external runs not yet ended. */
  externalRuns: ExternalRuns;
  /** External runs' record updates and silence failures. */
  external: ExternalLifecycle;
  now: () => number;
  /** The thread's log: the archive for what Redis lost, then Redis (just Redis with ARCHIVE off). */
  readPage: ReadPage;
  /** The PostgreSQL archive, when ARCHIVE is on. */
  archive?: { reader: ArchiveReader; sql: ArchiveSql };
  /** A new connection for a blocking read (`?wait=`, a streamed run); the caller closes it. */
  openBlockingConnection(name: string): RedisClient;
  /** Stops every run follow in progress (each closes its connection): run at shutdown. */
  follows: Set<() => void>;
}
