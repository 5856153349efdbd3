import { COUNT_STATES, type QueueSample } from "./queue-stats.js";

const HEAD = ["waiting", "active", "delayed", "prioritized", "failed", "completed"] as const;

/**
 * The queue table: a title naming the Redis read (`redis` is CliConfig.redisLabel), one row per queue,
 * counts per state, then added/completed/failed per second.
 */
export function renderQueueTable(prefix: string, redis: string, samples: QueueSample[], at: Date): string[] {
  const header = ["QUEUE", ...HEAD.map((h) => h.toUpperCase()), "ADDED/S", "DONE/S", "FAILED/S"];
  const rows = samples.map((s) => [
    `${prefix}:${s.queue}${s.paused ? " (paused)" : ""}`,
    ...HEAD.map((state) => String(s.counts[state] ?? 0)),
    rate(s.rates?.added),
    rate(s.rates?.completed),
    rate(s.rates?.failed),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const format = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const title = `queues under ${prefix} on ${redis} at ${at.toISOString()}`;
  if (rows.length === 0) return [title, `no queues under ${prefix} (set QUEUE_PREFIX or --prefix)`];
  return [title, format(header), ...rows.map(format)];
}

/** One plain line per queue, for logs and pipes: `<time> <queue> waiting=… rate.added=…/s`. */
export function renderQueueLines(prefix: string, samples: QueueSample[], at: Date): string[] {
  if (samples.length === 0) return [`${at.toISOString()} no queues under ${prefix}`];
  return samples.map((s) => {
    const counts = COUNT_STATES.map((state) => `${state}=${s.counts[state] ?? 0}`).join(" ");
    const rates = s.rates
      ? ` added/s=${rate(s.rates.added)} completed/s=${rate(s.rates.completed)} failed/s=${rate(s.rates.failed)}`
      : "";
    return `${at.toISOString()} ${prefix}:${s.queue}${s.paused ? " paused" : ""} ${counts}${rates}`;
  });
}

function rate(value: number | undefined): string {
  return value === undefined ? "-" : value.toFixed(1);
}
