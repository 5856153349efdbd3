import { parseChannelMessage, type ThreadEvent } from "@threadline/protocol";
import { keys, type RedisClient, readLogEntry, waitForLogEntries } from "@threadline/redis";

export type FollowedItem =
  | { kind: "event"; event: ThreadEvent; json: string }
  /** Nothing arrived for `blockMs`: time for a heartbeat, or to give up. */
  | { kind: "idle" };

export interface FollowTarget {
  threadId: string;
  runId: string;
  /** The log id of the run's first event (its `status queued`), which is included. */
  fromId: string;
}

/**
 * One run's events, read from the replay log from its first event until its `done` (every run ends with
 * one). The log holds them in order with their ids, so unlike the gateway this needs no pub/sub and no
 * merging: a blocking XREAD after the last id read. Other runs' events on the thread are skipped, and so
 * are entries readers would drop. `conn` blocks: it must be a connection of the caller's own, and
 * closing it is how a waiting follower is stopped (the generator then throws).
 */
export async function* followRun(
  conn: RedisClient,
  target: FollowTarget,
  options: { blockMs: () => number },
): AsyncGenerator<FollowedItem, void, undefined> {
  const { threadId, runId } = target;
  const channel = keys.threadChannel(threadId);
  const parse = (json: string) => {
    const parsed = parseChannelMessage(channel, json);
    return parsed.ok && parsed.event.runId === runId ? parsed : undefined;
  };
  const first = await readLogEntry(conn, threadId, target.fromId);
  const start = first === undefined ? undefined : parse(first);
  if (start) {
    yield { kind: "event", event: start.event, json: start.json };
    if (start.event.type === "done") return;
  }
  let after = target.fromId;
  for (;;) {
    const entries = await waitForLogEntries(conn, threadId, after, {
      blockMs: options.blockMs(),
      limit: 500,
    });
    if (entries.length === 0) {
      yield { kind: "idle" };
      continue;
    }
    for (const entry of entries) {
      after = entry.id;
      const parsed = parse(entry.json);
      if (!parsed) continue;
      yield { kind: "event", event: parsed.event, json: parsed.json };
      if (parsed.event.type === "done") return;
    }
  }
}
