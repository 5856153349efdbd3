import { isCluster, type RedisClient } from "@threadline/redis";
import { Queue } from "bullmq";

export const COUNT_STATES = [
  "waiting",
  "active",
  "delayed",
  "prioritized",
  "waiting-children",
  "failed",
  "completed",
] as const;
export const RATE_EVENTS = ["added", "completed", "failed"] as const;

export type QueueCounts = Record<(typeof COUNT_STATES)[number], number>;
export type QueueRates = Record<(typeof RATE_EVENTS)[number], number>;

export interface QueueSample {
  queue: string;
  /** A paused queue keeps its jobs in `waiting` (BullMQ 6 has no paused list). */
  paused: boolean;
  counts: QueueCounts;
  /** Per second since the previous sample; undefined on the first. */
  rates: QueueRates | undefined;
}

/**
 * Samples every BullMQ queue under `prefix`: job counts per state, and rates per second counted from each
 * queue's event stream (`<prefix>:<queue>:events`) since the previous sample — exact while the stream
 * retains the interval's events, unlike count deltas, which removeOnComplete trimming distorts.
 */
export function createQueueStats(client: RedisClient, prefix: string, now: () => number = Date.now) {
  const queues = new Map<string, Queue>();
  const cursors = new Map<string, string>();
  let lastAt: number | undefined;

  return {
    async sample(): Promise<QueueSample[]> {
      const names = await discoverQueues(client, prefix);
      const at = now();
      const seconds = lastAt === undefined ? undefined : Math.max((at - lastAt) / 1000, 0.001);
      lastAt = at;
      const samples: QueueSample[] = [];
      for (const name of names) {
        let queue = queues.get(name);
        if (!queue) {
          queue = new Queue(name, { connection: client, prefix });
          queues.set(name, queue);
        }
        const counts = (await queue.getJobCounts(...COUNT_STATES)) as QueueCounts;
        const events = await countEvents(client, `${prefix}:${name}:events`, cursors);
        samples.push({
          queue: name,
          paused: await queue.isPaused(),
          counts,
          rates:
            seconds === undefined || events === undefined
              ? undefined
              : {
                  added: events.added / seconds,
                  completed: events.completed / seconds,
                  failed: events.failed / seconds,
                },
        });
      }
      return samples;
    },
    async close(): Promise<void> {
      // The connection is the caller's: Queue.close() on a shared connection leaves it open.
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/** Queue names under `prefix`, from their `meta`, `id` and `events` keys (a queue has at least one). */
export async function discoverQueues(client: RedisClient, prefix: string): Promise<string[]> {
  const escaped = prefix.replace(/[*?[\]\\]/g, "\\$&");
  const names = new Set<string>();
  const nodes = isCluster(client) ? client.nodes("master") : [client];
  for (const node of nodes) {
    for (const suffix of ["meta", "id", "events"]) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", `${escaped}:*:${suffix}`, "COUNT", 1000);
        cursor = next;
        for (const key of found) names.add(key.slice(prefix.length + 1, key.length - suffix.length - 1));
      } while (cursor !== "0");
    }
  }
  return [...names].filter((n) => n.length > 0).sort();
}

async function countEvents(
  client: RedisClient,
  key: string,
  cursors: Map<string, string>,
): Promise<QueueRates | undefined> {
  const cursor = cursors.get(key);
  if (cursor === undefined) {
    const last = await client.xrevrange(key, "+", "-", "COUNT", 1);
    cursors.set(key, last[0]?.[0] ?? "0-0");
    return undefined;
  }
  const totals: QueueRates = { added: 0, completed: 0, failed: 0 };
  let from = cursor;
  for (;;) {
    const entries = await client.xrange(key, `(${from}`, "+", "COUNT", 5000);
    for (const [id, fields] of entries) {
      from = id;
      const event = fields[fields.indexOf("event") + 1] as keyof QueueRates;
      if (event in totals) totals[event] += 1;
    }
    if (entries.length < 5000) break;
  }
  cursors.set(key, from);
  return totals;
}
