import { connectArchive } from "@threadline/archive";
import {
  createArchiveFeed,
  createEventPublisher,
  createRunRecords,
  readLog,
  withArchiveFeed,
} from "@threadline/redis";
import { createTestDatabase, type TestDatabase, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedRunRecord, useWorkerRedis } from "./test-support/harness.js";
import { startWorkerProcess } from "./test-support/worker-process.js";

const t = useWorkerRedis();
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const EVENTS = 5_000;

describe("archiver in the worker process (real child process, Redis, PostgreSQL)", {
  timeout: 120_000,
}, () => {
  it("SIGKILLed mid-copy of a 5,000-event run: after a restart the archive holds exactly those 5,000 events", async () => {
    const sql = connectArchive(database.url, { name: "kill-test" });
    t.cleanups.push(() => sql.end({ timeout: 1 }));
    // Small batches: 250 transactions, so the copy is surely under way when the kill lands.
    const env = {
      REDIS_URL: t.redis.url,
      DATABASE_URL: database.url,
      QUEUE_PREFIX: `{kill-${uniqueId()}}`,
      ARCHIVE_BATCH_SIZE: "20",
      ARCHIVE_POLL_MS: "50",
    };
    const first = await startWorkerProcess("archiver-a", env);
    t.cleanups.push(() => first.stop(2_000));

    const threadId = uniqueId("th");
    const runId = uniqueId("run");
    const feed = createArchiveFeed(t.client, { markIntervalMs: 50 });
    const publisher = withArchiveFeed(
      createEventPublisher(t.client, { logMaxLen: 100_000, logTtlSeconds: 600 }),
      feed,
    );
    await seedRunRecord(
      t.client,
      {
        runId,
        threadId,
        agent: "demo",
        status: "running",
        createdAt: new Date().toISOString(),
        attempts: 1,
        input: { prompt: "5k" },
      },
      600,
    );
    const target = { threadId, runId };
    await publisher.publish(target, { type: "status", content: { state: "running", attempt: 1 } });
    await Promise.all(
      Array.from({ length: EVENTS - 2 }, (_, i) =>
        publisher.publish(target, { type: "token", content: `${i} ` }),
      ),
    );
    await publisher.publish(target, { type: "done", content: { finishReason: "stop" } });
    await feed.flush();

    const count = async () =>
      Number((await sql`select count(*)::int as n from events where thread_id = ${threadId}`)[0]?.n);
    await expect.poll(count, { timeout: 30_000, interval: 5 }).toBeGreaterThan(0);
    await first.kill("SIGKILL");
    const atKill = await count();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(EVENTS);

    const second = await startWorkerProcess("archiver-b", env);
    t.cleanups.push(() => second.stop(2_000));
    await expect.poll(count, { timeout: 30_000 }).toBe(EVENTS);
    const log = await readLog(t.client, threadId, "0", EVENTS + 10);
    const archived =
      await sql`select id, json from events where thread_id = ${threadId} order by id_ms, id_n`;
    expect(archived.map((r) => r.json)).toEqual(log.entries.map((e) => e.json));
    expect(new Set(archived.map((r) => r.id)).size).toBe(EVENTS);
    await expect
      .poll(async () => (await createRunRecords(t.client).get(threadId, runId))?.archivedAt, {
        timeout: 10_000,
      })
      .toBeDefined();
    const [run] =
      await sql`select status, archived_at from runs where thread_id = ${threadId} and run_id = ${runId}`;
    expect(run?.status).toBe("completed");
    expect(run?.archived_at).not.toBeNull();
  });
});
