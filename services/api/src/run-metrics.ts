import type { RejectReason } from "@threadline/protocol";
import { Counter, type Registry } from "prom-client";

/** What the run routes count, on the app's registry (no-ops when METRICS is off). */
export interface RunMetrics {
  created(agent: string): void;
  /** `queued`: ended by the API; `running`: handed to the worker holding it. */
  cancelled(where: "queued" | "running"): void;
  /** A replay-log entry the events page dropped, by the same reasons the gateway counts. */
  invalidEvent(reason: RejectReason): void;
}

export function createRunMetrics(registry: Registry | undefined): RunMetrics {
  if (!registry) return { created: () => {}, cancelled: () => {}, invalidEvent: () => {} };
  const created = new Counter({
    name: "threadline_api_runs_created_total",
    help: "Runs accepted and queued, by agent",
    labelNames: ["agent"] as const,
    registers: [registry],
  });
  const cancelled = new Counter({
    name: "threadline_api_runs_cancelled_total",
    help: "Cancel requests accepted: where=queued ended by the API, where=running sent to the worker",
    labelNames: ["where"] as const,
    registers: [registry],
  });
  // Same name suffix and reasons as the gateway's threadline_gateway_invalid_messages_dropped_total.
  const invalid = new Counter({
    name: "threadline_api_invalid_messages_dropped_total",
    help: "Replay-log entries dropped from events pages because they are not valid events, by reason",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  return {
    created: (agent) => created.inc({ agent }),
    cancelled: (where) => cancelled.inc({ where }),
    invalidEvent: (reason) => invalid.inc({ reason }),
  };
}
