import { isFinalState, type RunView } from "@threadline/protocol";
import type { LogEntry, RunRecords } from "@threadline/redis";
import type { ArchiveReader } from "./archive-reader.js";
import type { ReadPage } from "./merged-log.js";
import { foldMessages } from "./thread-messages.js";

export interface MemoryBudget {
  /** Earlier messages (user and assistant turns) a run receives at most; 0 turns memory off. */
  maxTurns: number;
  /** Characters of those messages at most (the newest are kept). */
  maxChars: number;
}

export interface MemoryDeps {
  runs: Pick<RunRecords, "list">;
  archive?: ArchiveReader;
  readPage: ReadPage;
  budget: MemoryBudget;
}

export type Turn = { role: "user" | "assistant"; content: string };

const MAX_RUNS = 100;
const MAX_ENTRIES = 20_000;

/**
 * A thread's earlier turns for a new run: the finished runs before it (Redis's records, then the
 * archive's), folded into user/assistant messages, newest kept within the budget, oldest first.
 */
export function createThreadMemory(deps: MemoryDeps) {
  return async (threadId: string, currentRunId: string): Promise<Turn[]> => {
    const { maxTurns, maxChars } = deps.budget;
    if (maxTurns === 0 || maxChars === 0) return [];
    const byId = new Map<string, RunView>();
    // The current run's own record is not read: on a new thread that read would be the only one,
    // a round trip the run's agent waits for (POST → first token).
    for (const run of await deps.runs.list(threadId, MAX_RUNS, { except: currentRunId }))
      byId.set(run.runId, run);
    for (const run of (await deps.archive?.listRuns(threadId, MAX_RUNS)) ?? []) {
      if (!byId.has(run.runId)) byId.set(run.runId, run);
    }
    const earlier = [...byId.values()].filter((r) => r.runId !== currentRunId && isFinalState(r.status));
    if (earlier.length === 0) return [];
    const entries: LogEntry[] = [];
    let after = "0";
    while (entries.length < MAX_ENTRIES) {
      const page = await deps.readPage(threadId, after, 1_000);
      entries.push(...page.entries);
      const last = page.entries.at(-1);
      if (!page.more || !last) break;
      after = last.id;
    }
    const turns = foldMessages(earlier, entries).map(({ role, content }) => ({ role, content }));
    const kept: Turn[] = [];
    let chars = 0;
    for (let i = turns.length - 1; i >= 0 && kept.length < maxTurns; i--) {
      const turn = turns[i];
      if (!turn || chars + turn.content.length > maxChars) break;
      chars += turn.content.length;
      kept.unshift(turn);
    }
    return kept;
  };
}
