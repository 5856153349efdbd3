import { parseChannelMessage, type RejectReason } from "@threadline/protocol";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { usageError } from "../cli-error.js";
import { connectOrFail } from "../connect-redis.js";
import { validThreadId } from "../valid-id.js";

interface PublishFlags {
  run?: string;
  liveOnly?: boolean;
}

const EXAMPLE = `'{"type":"token","content":"hello"}'`;

/**
 * `threadline publish <thread> <json|->`: the friendly `redis-cli publish`. The event is validated like the
 * gateway validates channel messages, then published through the atomic script (log + live, with an id, so
 * it is replayable) — or, with `--live-only`, as a plain PUBLISH exactly like `redis-cli publish`.
 */
export function publishCommand(program: Command, ctx: CliContext): void {
  program
    .command("publish")
    .description("validate one event and publish it on a thread (appended to the replay log, then live)")
    .argument("<thread>", "thread id")
    .argument("<event>", `the event as JSON, e.g. ${EXAMPLE}, or - to read it from stdin`)
    .option("--run <runId>", "attribute the event to a run (it then gets the run's next seq)")
    .option("--live-only", "plain PUBLISH like redis-cli: not in the replay log, no id")
    .action(async (thread: string, eventArg: string, flags: PublishFlags) => {
      validThreadId(thread);
      const runId = flags.run === undefined ? undefined : validThreadId(flags.run, "--run");
      const raw = eventArg === "-" ? (await ctx.readStdin()).trim() : eventArg;
      // Loaded on use: @threadline/redis pulls in BullMQ, which would slow every other command's start.
      const { closeRedisClient, createEventPublisher, createRedisClient, isCluster, keys } = await import(
        "@threadline/redis"
      );
      const channel = keys.threadChannel(thread);
      const parsed = parseChannelMessage(channel, raw);
      if (!parsed.ok) throw usageError(`invalid event: ${explain(parsed.reason, parsed.detail, raw)}`);
      const eventRunId = runId ?? parsed.event.runId;

      const config = ctx.config();
      const client = createRedisClient(config.redis, { name: "threadline-cli", lazyConnect: true });
      try {
        await connectOrFail(client, config.redisLabel);
        if (flags.liveOnly) {
          const receivers = isCluster(client)
            ? await client.spublish(channel, parsed.json)
            : await client.publish(channel, parsed.json);
          ctx.stdout(
            `published live-only on ${channel} of ${config.redisLabel} (${receivers} subscriber connections)\n`,
          );
          return;
        }
        const publisher = createEventPublisher(client, {
          logMaxLen: config.logMaxLen,
          logTtlSeconds: config.logTtlSeconds,
        });
        const { type, content } = parsed.event;
        const published = await publisher.publish(
          { threadId: thread, ...(eventRunId ? { runId: eventRunId } : {}) },
          { type, content } as Parameters<typeof publisher.publish>[1],
        );
        ctx.stdout(
          `published ${type} ${published.id} on ${channel}${published.seq ? ` (run ${eventRunId} seq ${published.seq})` : ""} of ${config.redisLabel}\n`,
        );
      } finally {
        await closeRedisClient(client);
      }
    });
}

function explain(reason: RejectReason, detail: string, raw: string): string {
  switch (reason) {
    case "not_json":
      return `not JSON (${jsonError(raw)}); pass one event like ${EXAMPLE}`;
    case "not_object":
      return `expected a JSON object, ${detail}; pass one event like ${EXAMPLE}`;
    case "unknown_type":
      return `${detail} is not one of token, status, delta, done, error`;
    case "bad_content":
      return `content does not match its type: ${detail}`;
    default:
      return `${reason.replace("_", " ")}: ${detail}`;
  }
}

function jsonError(raw: string): string {
  try {
    JSON.parse(raw);
    return "unparsable";
  } catch (error) {
    return (error as Error).message;
  }
}
