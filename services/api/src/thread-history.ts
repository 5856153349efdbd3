import type { RunView } from "@threadline/protocol";
import type { LogEntry } from "@threadline/redis";
import type { RouteContext } from "./routes/route-context.js";

/** Redis's records (the live truth) merged with the archive's (older than Redis keeps), newest first. */
export async function listRuns(ctx: RouteContext, threadId: string, limit: number): Promise<RunView[]> {
  const hot = await ctx.runs.list(threadId, limit);
  if (!ctx.archive) return hot;
  const byId = new Map(hot.map((run) => [run.runId, run]));
  for (const run of await ctx.archive.reader.listRuns(threadId, limit)) {
    const live = byId.get(run.runId);
    if (!live) byId.set(run.runId, run);
    else if (!live.archivedAt && run.archivedAt) byId.set(run.runId, { ...live, archivedAt: run.archivedAt });
  }
  return [...byId.values()]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.runId.localeCompare(a.runId))
    .slice(0, limit);
}

/** Pages through a thread's whole log (archive, then Redis) up to `maxEntries`, oldest first. */
export async function readThreadEntries(
  ctx: RouteContext,
  threadId: string,
  maxEntries: number,
): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  let after = "0";
  while (entries.length < maxEntries) {
    const page = await ctx.readPage(threadId, after, Math.min(1_000, maxEntries - entries.length));
    entries.push(...page.entries);
    const last = page.entries.at(-1);
    if (!page.more || !last) break;
    after = last.id;
  }
  return entries;
}
