import { CheckpointDelta, ThreadEvent } from "@threadline/protocol";
import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";

/** A completed step of a run's agent: what a retried attempt resumes after. */
export interface RunCheckpoint {
  step: number;
  /** What the agent saved to resume from (its own shape: the agent validates it). */
  state: unknown;
}

const PAGE = 500;

/**
 * The run's latest `checkpoint` delta, read from the thread's replay log newest first (stopping at the
 * run's `status queued`, its first event). Checkpoints live in the log, appended by the publish script
 * like every event, so a checkpoint exists exactly when it was published (fenced: a superseded attempt
 * cannot add one) and nothing else has to be kept in step with it. Each checkpoint holds all an agent
 * needs to resume, so only the latest matters; a log trimmed past it resumes from the start. Entries
 * are validated (`ThreadEvent`, `CheckpointDelta`): one that is not a valid checkpoint is not one.
 */
export async function readLatestCheckpoint(
  client: RedisClient,
  threadId: string,
  runId: string,
): Promise<RunCheckpoint | undefined> {
  const key = keys.threadLog(threadId);
  let end = "+";
  for (;;) {
    const rows = await client.xrevrange(key, end, "-", "COUNT", PAGE);
    for (const [, fields] of rows) {
      const event = parse(fields);
      if (event?.runId !== runId) continue;
      if (event.type === "delta") {
        const checkpoint = CheckpointDelta.safeParse(event.content);
        if (checkpoint.success) return { step: checkpoint.data.step, state: checkpoint.data.state };
      }
      if (event.type === "status" && event.content.state === "queued") return undefined;
    }
    const last = rows[rows.length - 1];
    if (rows.length < PAGE || !last) return undefined;
    end = `(${last[0]}`;
  }
}

function parse(fields: string[]): ThreadEvent | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== "e") continue;
    try {
      const parsed = ThreadEvent.safeParse(JSON.parse(fields[i + 1] ?? ""));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
