import type { AgentRegistry } from "@threadline/agents";
import type { ApiConfig } from "@threadline/config";
import type { EventPublisher, ExternalRuns, RedisClient, RunStore, RunsQueue } from "@threadline/redis";
import type { ExternalLifecycle } from "../external/external-lifecycle.js";
import type { RunMetrics } from "../run-metrics.js";
import type { ThreadAccess } from "../thread-access.js";

/** What every route handler uses, wired once in `buildApi`. */
export interface RouteContext {
  config: ApiConfig;
  redis: RedisClient;
  queue: Pick<RunsQueue, "enqueue" | "removeQueued">;
  runs: RunStore;
  publisher: EventPublisher;
  access: ThreadAccess;
  agents: Pick<AgentRegistry, "validateInput">;
  metrics: RunMetrics;
  /** The index of external runs not yet ended. */
  externalRuns: ExternalRuns;
  /** External runs' record updates and silence failures. */
  external: ExternalLifecycle;
  now: () => number;
}
