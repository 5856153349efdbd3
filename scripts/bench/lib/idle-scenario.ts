/**
 * S3: idle capacity. Opens connections level by level (each on its own thread) and reads the
 * server's RSS and Redis `used_memory` at each level; per-connection figures are deltas from the
 * empty server divided by the connection count.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchRedis } from "./bench-redis.js";
import type { ConnSpec } from "./client-protocol.js";
import { createLoadClient } from "./load-client.js";
import type { Target } from "./targets.js";

export interface IdleLevel {
  connections: number;
  opened: number;
  failed: number;
  errors: string[];
  /** Still open after the settle time. */
  stillOpen: number;
  rssBytes: number;
  rssPerConnKb: number;
  /** RSS growth per connection since the previous level (less sensitive to start-up noise). */
  rssMarginalKb: number;
  redisPerConnKb: number;
  redisClients: number;
}

export interface IdleOutcome {
  target: string;
  baseRssBytes: number;
  levels: IdleLevel[];
}

export async function runIdleScenario(
  target: Target,
  redis: BenchRedis,
  levels: number[],
  tag: string,
): Promise<IdleOutcome> {
  await sleep(1_000);
  const baseRss = target.proc.rss();
  const baseRedis = await redis.info();
  const client = createLoadClient(2);
  const outcome: IdleOutcome = { target: target.key, baseRssBytes: baseRss, levels: [] };
  let opened = 0;
  let previous = { rss: baseRss, level: 0 };
  try {
    for (const level of levels) {
      const specs: ConnSpec[] = [];
      for (let i = opened; i < level; i++)
        specs.push({ url: target.sseUrl(`${tag}-${i}`), headers: target.headers, thread: i });
      const result = await client.open(specs);
      opened = level;
      await sleep(2_000);
      const counts = await client.counts();
      const rss = target.proc.rss();
      const info = await redis.info();
      const entry: IdleLevel = {
        connections: level,
        opened: counts.open,
        failed: result.failed,
        errors: result.errors,
        stillOpen: counts.open,
        rssBytes: rss,
        rssPerConnKb: round((rss - baseRss) / 1024 / level),
        rssMarginalKb: round((rss - previous.rss) / 1024 / (level - previous.level)),
        redisPerConnKb: round((info.usedMemory - baseRedis.usedMemory) / 1024 / level),
        redisClients: info.clients,
      };
      outcome.levels.push(entry);
      previous = { rss, level };
      console.log(
        `  ${target.key} S3 ${level} idle: open ${counts.open}, failed ${result.failed}, RSS ${Math.round(rss / 2 ** 20)} MiB (${entry.rssPerConnKb} KiB/conn), Redis ${entry.redisPerConnKb} KiB/conn${result.errors[0] ? `, first error: ${result.errors[0]}` : ""}`,
      );
      if (result.failed > 0) break;
    }
    return outcome;
  } finally {
    await client.close();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
