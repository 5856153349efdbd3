import { abortableSleep } from "@threadline/protocol";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { usageError } from "../cli-error.js";
import { connectOrFail } from "../connect-redis.js";
import { renderQueueLines, renderQueueTable } from "../render-queues.js";

interface QueuesFlags {
  watch?: boolean;
  interval: string;
  count?: string;
  prefix?: string;
  json?: boolean;
}

/** `threadline queues [--watch]`: BullMQ counts per state and rates per second for every queue under the prefix. */
export function queuesCommand(program: Command, ctx: CliContext): void {
  program
    .command("queues")
    .description(
      "show job counts per state (and rates per second with --watch) for every queue under the prefix",
    )
    .option("-w, --watch", "refresh every --interval: redrawn in place on a terminal, plain lines otherwise")
    .option("--interval <ms>", "refresh period in milliseconds", "1000")
    .option("--count <n>", "with --watch, stop after n refreshes")
    .option("--prefix <prefix>", "BullMQ prefix (default: QUEUE_PREFIX or {tl})")
    .option("--json", "one JSON object per queue per refresh")
    .action(async (flags: QueuesFlags) => {
      const intervalMs = positiveInt("--interval", flags.interval, 100);
      const count = flags.count === undefined ? undefined : positiveInt("--count", flags.count, 1);
      const config = ctx.config();
      // Loaded on use: BullMQ takes a while to import, and other commands don't need it.
      const { closeRedisClient, createRedisClient } = await import("@threadline/redis");
      const { createQueueStats } = await import("../queue-stats.js");
      const prefix = flags.prefix ?? config.queuePrefix;
      const client = createRedisClient(config.redis, { name: "threadline-cli-queues", lazyConnect: true });
      await connectOrFail(client, config.redisLabel);
      const stats = createQueueStats(client, prefix);
      const redraw = flags.watch && ctx.isTTY && !flags.json;
      const table = !flags.json && (!flags.watch || redraw);
      // The table's title names the Redis; JSON and log lines stay one record per line, so it goes to stderr.
      if (!table) ctx.stderr(`threadline: queues of ${config.redisLabel}\n`);
      let drawn = 0;
      try {
        for (let tick = 1; ; tick += 1) {
          const samples = await stats.sample();
          const at = new Date();
          let lines: string[];
          if (flags.json) lines = samples.map((s) => JSON.stringify({ at: at.toISOString(), prefix, ...s }));
          else if (flags.watch && !redraw) lines = renderQueueLines(prefix, samples, at);
          else lines = renderQueueTable(prefix, config.redisLabel, samples, at);
          // Cursor up over the previous table and clear below: the table updates in place.
          ctx.stdout(`${redraw && drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ""}${lines.join("\n")}\n`);
          drawn = lines.length;
          if (!flags.watch || ctx.signal.aborted || (count !== undefined && tick >= count)) break;
          await abortableSleep(intervalMs, ctx.signal);
          if (ctx.signal.aborted) break;
        }
      } finally {
        await stats.close();
        await closeRedisClient(client);
      }
    });
}

function positiveInt(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw usageError(`${flag}: expected an integer ≥ ${min}, got "${value}"`);
  return n;
}
