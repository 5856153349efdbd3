import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";

/** What the publish script recorded about a run (its publish state hash). */
export interface RunPublishState {
  /** Last assigned seq (0: nothing published with a run id yet). */
  seq: number;
  /** Redis's clock (ms) at the run's latest event, if any. */
  lastEventAt?: number;
  /** Entry id of the run's `done`, once published. */
  doneId?: string;
}

export interface ExternalRunRef {
  threadId: string;
  runId: string;
  /** When the run was created (ms). */
  createdAt: number;
}

/**
 * The index of external runs that have not ended, and what the publish script recorded about each:
 * every API instance walks it to fail runs whose producer went silent.
 */
export interface ExternalRuns {
  add(ref: ExternalRunRef): Promise<void>;
  remove(threadId: string, runId: string): Promise<void>;
  /** Oldest first, at most `limit`. */
  list(limit: number): Promise<ExternalRunRef[]>;
  publishState(threadId: string, runId: string): Promise<RunPublishState>;
}

export function createExternalRuns(client: RedisClient): ExternalRuns {
  const member = (threadId: string, runId: string) => `${threadId} ${runId}`;
  return {
    async add({ threadId, runId, createdAt }) {
      await client.zadd(keys.externalRuns(), createdAt, member(threadId, runId));
    },
    async remove(threadId, runId) {
      await client.zrem(keys.externalRuns(), member(threadId, runId));
    },
    async list(limit) {
      const flat = await client.zrange(keys.externalRuns(), "0", String(limit - 1), "WITHSCORES");
      const refs: ExternalRunRef[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const [threadId, runId] = (flat[i] ?? "").split(" ");
        if (threadId && runId) refs.push({ threadId, runId, createdAt: Number(flat[i + 1]) });
      }
      return refs;
    },
    async publishState(threadId, runId) {
      const [seq, last, done] = await client.hmget(
        keys.runPublishState(threadId, runId),
        "seq",
        "last",
        "done",
      );
      return {
        seq: Number(seq ?? 0),
        ...(last ? { lastEventAt: Number(last) } : {}),
        ...(done ? { doneId: done } : {}),
      };
    },
  };
}
