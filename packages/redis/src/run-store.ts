import type { RunStatus, RunView } from "@threadline/protocol";
import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { defineScripts } from "./scripts.js";

/** What a run record may be updated with; JSON fields are serialized here. */
export interface RunPatch {
  status?: RunStatus;
  startedAt?: string;
  finishedAt?: string;
  attempts?: number;
  output?: unknown;
  error?: RunView["error"];
}

export interface RunStore {
  create(run: RunView, ttlSeconds: number): Promise<void>;
  get(threadId: string, runId: string): Promise<RunView | undefined>;
  update(threadId: string, runId: string, patch: RunPatch): Promise<void>;
  /** Newest first. */
  list(threadId: string, limit: number): Promise<RunView[]>;
  /** Records `archivedAt` on a run record that still exists (never recreates an expired one). */
  markArchived(threadId: string, runId: string, archivedAt: string): Promise<void>;
}

const JSON_FIELDS = new Set(["output", "error", "metadata", "input"]);

/**
 * Run records live in `{thread:<id>}:run:<runId>` hashes (same slot as the thread), indexed by the
 * thread's `runs` sorted set. The API creates them; the worker moves them through their states.
 */
export function createRunStore(client: RedisClient): RunStore {
  defineScripts(client);
  const get = async (threadId: string, runId: string) =>
    decode(await client.hgetall(keys.run(threadId, runId)));
  return {
    async create(run, ttlSeconds) {
      const key = keys.run(run.threadId, run.runId);
      await client
        .multi()
        .hset(key, encode(run as unknown as Record<string, unknown>))
        .expire(key, ttlSeconds)
        .zadd(keys.threadRuns(run.threadId), Date.parse(run.createdAt), run.runId)
        .expire(keys.threadRuns(run.threadId), ttlSeconds)
        .exec();
    },
    get,
    async update(threadId, runId, patch) {
      const fields = encode(patch as Record<string, unknown>);
      if (Object.keys(fields).length > 0) await client.hset(keys.run(threadId, runId), fields);
    },
    async list(threadId, limit) {
      const ids = await client.zrevrange(keys.threadRuns(threadId), 0, Math.max(0, limit - 1));
      const runs = await Promise.all(ids.map((id) => get(threadId, id)));
      return runs.filter((r): r is RunView => r !== undefined);
    },
    async markArchived(threadId, runId, archivedAt) {
      await client.threadlineHsetIfExists(keys.run(threadId, runId), "archivedAt", archivedAt);
    },
  };
}

function encode(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    out[k] = JSON_FIELDS.has(k) ? JSON.stringify(v) : String(v);
  }
  return out;
}

function decode(hash: Record<string, string>): RunView | undefined {
  if (!hash.runId) return undefined;
  const view: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hash)) {
    view[k] = JSON_FIELDS.has(k) ? JSON.parse(v) : k === "attempts" ? Number(v) : v;
  }
  return view as unknown as RunView;
}
