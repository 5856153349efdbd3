import { RunView } from "@threadline/protocol";
import type { RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { defineScripts } from "./scripts.js";

/** A run record that is in Redis but not a valid RunView (the reader says why). */
export interface InvalidRunRecord {
  key: string;
  problem: string;
}

export interface RunRecordsOptions {
  /** Told about every record that fails validation; such a record is read as absent. */
  onInvalid?(invalid: InvalidRunRecord): void;
}

/**
 * Run records: read here; every status write is a transition of the run lifecycle (run-lifecycle.ts),
 * and the archiver marks archived runs.
 */
export interface RunRecords {
  get(threadId: string, runId: string): Promise<RunView | undefined>;
  /**
   * Newest first; at most the runs index cap (see RUNS_INDEX_CAP). `except` leaves one run out without
   * reading its record (a worker's own run, when it loads the thread's earlier turns).
   */
  list(threadId: string, limit: number, options?: { except?: string }): Promise<RunView[]>;
  /** Records `archivedAt` on a run record that still exists (never recreates an expired one). */
  markArchived(threadId: string, runId: string, archivedAt: string): Promise<void>;
}

const JSON_FIELDS = new Set(["output", "error", "metadata", "input", "usage", "cost", "budget"]);
const NUMBER_FIELDS = new Set(["attempts"]);

/**
 * Run records live in `{thread:<id>}:run:<runId>` hashes (same slot as the thread), indexed by the
 * thread's `runs` sorted set. Reads are validated with the contract's RunView schema: a record that
 * does not decode is reported and served as absent, never passed on half-formed.
 */
export function createRunRecords(client: RedisClient, options: RunRecordsOptions = {}): RunRecords {
  defineScripts(client);
  const get = async (threadId: string, runId: string) => {
    const key = keys.run(threadId, runId);
    const hash = await client.hgetall(key);
    if (Object.keys(hash).length === 0) return undefined;
    const decoded = decodeRunRecord(hash);
    if (decoded.ok) return decoded.run;
    options.onInvalid?.({ key, problem: decoded.problem });
    return undefined;
  };
  return {
    get,
    async list(threadId, limit, { except } = {}) {
      const ids = await client.zrevrange(keys.threadRuns(threadId), 0, Math.max(0, limit - 1));
      const wanted = except === undefined ? ids : ids.filter((id) => id !== except);
      const runs = await Promise.all(wanted.map((id) => get(threadId, id)));
      return runs.filter((r): r is RunView => r !== undefined);
    },
    async markArchived(threadId, runId, archivedAt) {
      await client.threadlineHsetIfExists(keys.run(threadId, runId), "archivedAt", archivedAt);
    },
  };
}

/** Hash fields of a (partial) run record: JSON fields serialized, undefined left out. */
export function encodeRunRecord(values: Partial<RunView>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    out[k] = JSON_FIELDS.has(k) ? JSON.stringify(v) : String(v);
  }
  return out;
}

export function decodeRunRecord(
  hash: Record<string, string>,
): { ok: true; run: RunView } | { ok: false; problem: string } {
  const view: Record<string, unknown> = {};
  try {
    for (const [k, v] of Object.entries(hash)) {
      view[k] = JSON_FIELDS.has(k) ? JSON.parse(v) : NUMBER_FIELDS.has(k) ? Number(v) : v;
    }
  } catch (error) {
    return { ok: false, problem: `a JSON field does not parse: ${(error as Error).message}` };
  }
  const parsed = RunView.safeParse(view);
  if (parsed.success) return { ok: true, run: parsed.data };
  return {
    ok: false,
    problem: parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; "),
  };
}
