import {
  createEventPublisher,
  createRunRecords,
  createThreadMeta,
  keys,
  publishScriptSource,
  readLog,
} from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { deleteArchivedThread, purgeIdleThreads } from "./archive-cleanup.js";
import { createArchiveWriter } from "./archive-writer.js";
import { connectArchive } from "./connect.js";
import { createMergedLog } from "./merged-log.js";
import { migrateArchive } from "./migrate.js";
import { useArchiveFixture } from "./test-support/archive-fixture.js";

const fx = useArchiveFixture();

async function publishRun(threadId: string, runId: string, tokens: number) {
  await fx.publisher.publish(
    { threadId, runId },
    { type: "status", content: { state: "running", attempt: 1 } },
  );
  for (let i = 0; i < tokens; i++)
    await fx.publisher.publish({ threadId, runId }, { type: "token", content: `t${i} ` });
  await fx.publisher.publish(
    { threadId, runId },
    { type: "done", content: { finishReason: "stop", output: { text: "ok" } } },
  );
}

async function archivedJson(threadId: string): Promise<string[]> {
  const rows = await fx.sql`select json from events where thread_id = ${threadId} order by id_ms, id_n`;
  return rows.map((r) => String(r.json));
}

describe("archiver (real Redis + PostgreSQL)", () => {
  it("migrates exactly once when several processes start at the same time", async () => {
    const others = [1, 2, 3].map(() => connectArchive(fx.databaseUrl, { name: "migrate-race" }));
    const applied = await Promise.all(others.map((sql) => migrateArchive(sql)));
    expect(applied.flat()).toEqual([]);
    const [row] = await fx.sql`select count(*)::int as n from archive_migrations`;
    expect(row?.n).toBe(1);
    await Promise.all(others.map((sql) => sql.end({ timeout: 1 })));
  });

  it("archives a run whose producer ran the publish script itself and marked nothing: the sweep finds it", async () => {
    const threadId = uniqueId("direct");
    const runId = uniqueId("run");
    // Exactly what the Python SDK's RedisRunPublisher (or any EVALSHA caller) sends: the script, nothing else.
    const publish = (event: Record<string, unknown>) =>
      fx.redis.eval(
        publishScriptSource(),
        3,
        keys.threadLog(threadId),
        keys.threadMeta(threadId),
        keys.runPublishState(threadId, runId),
        keys.threadChannel(threadId),
        JSON.stringify({ threadId, runId, ts: Date.now(), ...event }),
        100_000,
        600,
        "PUBLISH",
        "",
        "",
      );
    await publish({ type: "status", content: { state: "running" } });
    for (let i = 0; i < 30; i++) await publish({ type: "token", content: `d${i} ` });
    await publish({ type: "done", content: { finishReason: "stop" } });
    expect(await fx.redis.zscore(keys.archiveDirty(), threadId)).toBeNull(); // nobody marked it
    const log = await readLog(fx.redis, threadId, "0", 1000);

    fx.startArchiver(200, { sweepMs: 100 });
    await expect
      .poll(() => archivedJson(threadId), { timeout: 5_000 })
      .toEqual(log.entries.map((e) => e.json));
    await expect
      .poll(() => fx.reader.getRun(threadId, runId).then((r) => r?.status), { timeout: 5_000 })
      .toBe("completed");
  });

  it("copies a finished run byte for byte, with its run row, and marks it archived", async () => {
    const threadId = uniqueId();
    const runId = uniqueId("run");
    await fx.redis.hset(keys.threadMeta(threadId), {
      owner: "alice",
      createdAt: new Date().toISOString(),
      lastRunId: runId,
    });
    fx.startArchiver();
    // Characters PostgreSQL's text and array literals escape, a word that reads as NULL, non-ASCII.
    await fx.publisher.publish(
      { threadId, runId },
      { type: "token", content: 'line1\nline2 "quoted" back\\slash {a,b} NULL é 🎉' },
    );
    await publishRun(threadId, runId, 20);
    const log = await readLog(fx.redis, threadId, "0", 1000);
    await expect
      .poll(() => fx.reader.getRun(threadId, runId).then((r) => r?.archivedAt), { timeout: 5_000 })
      .toBeDefined();
    expect(await archivedJson(threadId)).toEqual(log.entries.map((e) => e.json));
    const run = await fx.reader.getRun(threadId, runId);
    expect(run).toMatchObject({ status: "completed", attempts: 1, output: { text: "ok" } });
    expect(await fx.reader.threadOwner(threadId)).toBe("alice");
    const [summary] = await fx.reader.listThreads("alice", 10);
    expect(summary).toMatchObject({ threadId, lastRunId: runId, lastStatus: "completed" });
  });

  it("is idempotent by event id: copying the same entries twice leaves one row each", async () => {
    const threadId = uniqueId();
    await publishRun(threadId, uniqueId("run"), 5);
    fx.startArchiver();
    await expect.poll(() => archivedJson(threadId).then((j) => j.length), { timeout: 5_000 }).toBe(7);
    // Rewind the cursor as a process killed before its commit would leave it: the copy runs again.
    await fx.sql`update threads set cursor_ms = 0, cursor_n = 0 where thread_id = ${threadId}`;
    await fx.publisher.publish({ threadId }, { type: "token", content: "late" });
    await expect.poll(() => archivedJson(threadId).then((j) => j.length), { timeout: 5_000 }).toBe(8);
    const log = await readLog(fx.redis, threadId, "0", 1000);
    expect(await archivedJson(threadId)).toEqual(log.entries.map((e) => e.json));
  });

  it("an archiver far behind a small LOG_MAXLEN loses nothing: the log keeps what it has not copied", async () => {
    const threadId = uniqueId();
    await createThreadMeta(fx.redis, { archiveFollows: true }).claimOwner(threadId, "alice", {
      createdAt: new Date().toISOString(),
      ttlSeconds: 600,
    });
    // LOG_MAXLEN 10 and ~300-byte entries: a plain trim would drop most of these 80 before any copy.
    const publisher = createEventPublisher(fx.redis, { logMaxLen: 10, logTtlSeconds: 600 });
    const publish = async (count: number) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const event = { type: "token" as const, content: `t${i} ${"x".repeat(280)}` };
        ids.push((await publisher.publish({ threadId, runId: "r1" }, event)).id);
      }
      return ids;
    };
    const writer = createArchiveWriter({
      sql: fx.sql,
      redis: fx.redis,
      runs: createRunRecords(fx.redis),
      batchSize: 25,
    });
    const archivedIds = async () =>
      (await fx.sql`select id from events where thread_id = ${threadId} order by id_ms, id_n`).map((r) =>
        String(r.id),
      );

    // (The sweeping archiver of an earlier test may copy this thread first: either copy must be whole.)
    const first = await publish(80);
    expect((await writer.copyThread(threadId)).gap).toBe(false);
    await expect.poll(archivedIds, { timeout: 5_000 }).toEqual(first);
    const second = await publish(40);
    expect((await writer.copyThread(threadId)).gap).toBe(false);
    await expect.poll(archivedIds, { timeout: 5_000 }).toEqual([...first, ...second]);
    // Once archived, the log is trimmed back towards LOG_MAXLEN by the next appends.
    await publish(20);
    expect(await fx.redis.xlen(keys.threadLog(threadId))).toBeLessThan(60);
  });

  it("serves what Redis lost from the archive, then continues from Redis: no gap, no duplicate", async () => {
    const threadId = uniqueId();
    await publishRun(threadId, uniqueId("run"), 30);
    fx.startArchiver();
    const before = await readLog(fx.redis, threadId, "0", 1000);
    await expect.poll(() => archivedJson(threadId).then((j) => j.length), { timeout: 5_000 }).toBe(32);
    // Redis keeps only the last 5 entries; then 10 more arrive that the archive may not have yet.
    await fx.redis.xtrim(keys.threadLog(threadId), "MAXLEN", 5);
    await publishRun(threadId, uniqueId("run"), 8);
    const all = [
      ...before.entries,
      ...(await readLog(fx.redis, threadId, before.entries.at(-1)?.id ?? "0", 100)).entries,
    ];
    const read = createMergedLog(fx.redis, fx.reader);
    const resumeAt = before.entries[3]?.id ?? "";
    const got: string[] = [];
    let after = resumeAt;
    for (;;) {
      const page = await read(threadId, after, 7);
      expect(page.truncated).toBe(false);
      got.push(...page.entries.map((e) => e.json));
      if (!page.more && page.entries.length < 7) break;
      after = page.entries.at(-1)?.id ?? after;
    }
    expect(got).toEqual(all.slice(4).map((e) => e.json));
  });

  it("says truncated only when neither Redis nor the archive holds the position", async () => {
    const threadId = uniqueId();
    await publishRun(threadId, uniqueId("run"), 3);
    const read = createMergedLog(fx.redis, fx.reader);
    const page = await read(threadId, "1-1", 100);
    expect(page.truncated).toBe(true);
    expect(page.entries).toHaveLength(5);
  });

  it("retention purges only threads idle longer than the limit; delete removes every row of a thread", async () => {
    const idle = uniqueId();
    const fresh = uniqueId();
    await publishRun(idle, uniqueId("run"), 2);
    await publishRun(fresh, uniqueId("run"), 2);
    fx.startArchiver();
    await expect.poll(() => archivedJson(fresh).then((j) => j.length), { timeout: 5_000 }).toBe(4);
    await expect.poll(() => archivedJson(idle).then((j) => j.length), { timeout: 5_000 }).toBe(4);
    await fx.sql`update threads set updated_at = now() - interval '40 days' where thread_id = ${idle}`;
    expect(await purgeIdleThreads(fx.sql, 30)).toBeGreaterThanOrEqual(1);
    expect(await archivedJson(idle)).toEqual([]);
    expect(await fx.reader.threadOwner(idle)).toBeUndefined();
    expect(await archivedJson(fresh)).toHaveLength(4);
    expect(await deleteArchivedThread(fx.sql, fresh)).toBe(4);
    expect(await fx.reader.listRuns(fresh, 10)).toEqual([]);
  });
});
