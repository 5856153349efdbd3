import {
  closeRedisClient,
  createArchiveFeed,
  createEventPublisher,
  createRedisClient,
  createRunRecords,
  keys,
  publishScriptSource,
  type RedisClient,
  readLog,
  withArchiveFeed,
} from "@threadline/redis";
import {
  createTestDatabase,
  type RedisClusterHandle,
  startRedisCluster,
  type TestDatabase,
  uniqueId,
} from "@threadline/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createArchiveSweep } from "./archive-sweep.js";
import { createArchiveWriter } from "./archive-writer.js";
import { type Archiver, createArchiver } from "./archiver.js";
import { type ArchiveSql, connectArchive } from "./connect.js";
import { migrateArchive } from "./migrate.js";

// The archive behind a real 3-master Redis Cluster and a real PostgreSQL database: threads on every
// master, some published through the marking publisher (the dirty list is one key in its own slot,
// marked and settled by scripts), some through the bare publish script (found by the sweep, which
// SCANs every master).
let cluster: RedisClusterHandle;
let client: RedisClient;
let database: TestDatabase;
let sql: ArchiveSql;
let archiver: Archiver | undefined;

beforeAll(async () => {
  [cluster, database] = await Promise.all([startRedisCluster(), createTestDatabase()]);
  client = createRedisClient(
    { url: "redis://unused", clusterNodes: cluster.nodes },
    { name: "archive-cluster" },
  );
  sql = connectArchive(database.url, { name: "archive-cluster" });
  await migrateArchive(sql);
}, 60_000);
afterAll(async () => {
  await archiver?.close();
  await sql?.end({ timeout: 1 });
  if (client) await closeRedisClient(client);
  await cluster?.dispose();
  await database?.drop();
});

/** The port of the master serving a key's slot. */
async function masterOf(key: string): Promise<number> {
  const slot = Number(await client.call("CLUSTER", "KEYSLOT", key));
  const ranges = (await client.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
  const range = ranges.find(([start, end]) => slot >= start && slot <= end);
  if (!range) throw new Error(`no master serves slot ${slot}`);
  return range[2][1];
}

/** Thread ids until every master holds `perMaster` of them. */
async function threadsOnEveryMaster(perMaster: number, prefix: string): Promise<string[]> {
  const counts = new Map<number, number>(cluster.nodes.map((n) => [n.port, 0]));
  const chosen: string[] = [];
  while ([...counts.values()].some((n) => n < perMaster)) {
    const threadId = uniqueId(prefix);
    const port = await masterOf(keys.threadLog(threadId));
    if ((counts.get(port) ?? 0) >= perMaster) continue;
    counts.set(port, (counts.get(port) ?? 0) + 1);
    chosen.push(threadId);
  }
  return chosen;
}

async function archivedJson(threadId: string): Promise<string[]> {
  const rows = await sql`select json from events where thread_id = ${threadId} order by id_ms, id_n`;
  return rows.map((r) => String(r.json));
}

describe("archive on Redis Cluster (3 masters, real PostgreSQL)", () => {
  it("archives every thread on every master byte for byte: marked ones through the dirty list, bare-script ones through the sweep", async () => {
    const feed = createArchiveFeed(client, { markIntervalMs: 50 });
    const marking = withArchiveFeed(
      createEventPublisher(client, { logMaxLen: 10_000, logTtlSeconds: 600 }),
      feed,
    );
    const [marked, bare] = await Promise.all([
      threadsOnEveryMaster(2, "marked"),
      threadsOnEveryMaster(2, "bare"),
    ]);
    for (const threadId of marked) {
      const target = { threadId, runId: "r1" };
      for (let i = 0; i < 20; i++) await marking.publish(target, { type: "token", content: `m${i} ` });
      await marking.publish(target, { type: "done", content: { finishReason: "stop" } });
    }
    for (const threadId of bare) {
      const publish = (event: Record<string, unknown>) =>
        client.eval(
          publishScriptSource(),
          3,
          keys.threadLog(threadId),
          keys.threadMeta(threadId),
          keys.runPublishState(threadId, "r1"),
          keys.threadChannel(threadId),
          JSON.stringify({ threadId, runId: "r1", ts: Date.now(), ...event }),
          10_000,
          600,
          "SPUBLISH",
          "",
          "",
        );
      for (let i = 0; i < 20; i++) await publish({ type: "token", content: `b${i} ` });
      await publish({ type: "done", content: { finishReason: "stop" } });
    }
    await feed.flush();
    const dirty = (await client.zrange(keys.archiveDirty(), "0", "-1")).sort();
    expect(dirty).toEqual([...marked].sort());

    const log = pino({ level: "silent" });
    archiver = createArchiver({
      feed,
      writer: createArchiveWriter({ sql, redis: client, runs: createRunRecords(client), batchSize: 200 }),
      log,
      pollMs: 25,
      sweep: createArchiveSweep({ sql, redis: client, feed, log, intervalMs: 200 }),
    });
    archiver.start();
    for (const threadId of [...marked, ...bare]) {
      const entries = (await readLog(client, threadId, "0", 1_000)).entries.map((e) => e.json);
      expect(entries).toHaveLength(21);
      await expect.poll(() => archivedJson(threadId), { timeout: 10_000 }).toEqual(entries);
    }
    // Every mark was settled by its script on the dirty list's own slot.
    await expect.poll(() => client.zcard(keys.archiveDirty()), { timeout: 5_000 }).toBe(0);
  }, 60_000);
});
