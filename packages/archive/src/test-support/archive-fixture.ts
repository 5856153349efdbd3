import {
  closeRedisClient,
  createArchiveFeed,
  createEventPublisher,
  createRedisClient,
  createRunRecords,
  type EventPublisher,
  type RedisClient,
  withArchiveFeed,
} from "@threadline/redis";
import { createTestDatabase, getTestRedis, type TestDatabase, type TestRedis } from "@threadline/testing";
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";
import { type ArchiveReader, createArchiveReader } from "../archive-reader.js";
import { createArchiveSweep } from "../archive-sweep.js";
import { createArchiveWriter } from "../archive-writer.js";
import { type Archiver, createArchiver } from "../archiver.js";
import { type ArchiveSql, connectArchive } from "../connect.js";
import { migrateArchive } from "../migrate.js";

export interface ArchiveFixture {
  redisUrl: string;
  databaseUrl: string;
  redis: RedisClient;
  sql: ArchiveSql;
  reader: ArchiveReader;
  /** A publisher that marks threads for the archiver (as the worker's does). */
  publisher: EventPublisher;
  /** Starts an in-process archiver (closed after the file); `sweepMs`: with the sweep, at that interval. */
  startArchiver(batchSize?: number, options?: { sweepMs?: number }): Archiver;
}

/** A real Redis and a fresh, migrated PostgreSQL database per test file, both cleaned up after. */
export function useArchiveFixture(): ArchiveFixture {
  let testRedis: TestRedis;
  let database: TestDatabase;
  const archivers: Archiver[] = [];
  const fixture = {} as ArchiveFixture;
  beforeAll(async () => {
    testRedis = await getTestRedis();
    database = await createTestDatabase();
    const redis = createRedisClient({ url: testRedis.url }, { name: "archive-test" });
    const sql = connectArchive(database.url, { name: "archive-test" });
    await migrateArchive(sql);
    const feed = createArchiveFeed(redis, { markIntervalMs: 50 });
    Object.assign(fixture, {
      redisUrl: testRedis.url,
      databaseUrl: database.url,
      redis,
      sql,
      reader: createArchiveReader(sql),
      publisher: withArchiveFeed(
        createEventPublisher(redis, { logMaxLen: 100_000, logTtlSeconds: 600 }),
        feed,
      ),
      startArchiver(batchSize = 200, options: { sweepMs?: number } = {}) {
        const writer = createArchiveWriter({ sql, redis, runs: createRunRecords(redis), batchSize });
        const log = pino({ level: "silent" });
        const archiver = createArchiver({
          feed,
          writer,
          log,
          pollMs: 25,
          ...(options.sweepMs
            ? { sweep: createArchiveSweep({ sql, redis, feed, log, intervalMs: options.sweepMs }) }
            : {}),
        });
        archiver.start();
        archivers.push(archiver);
        return archiver;
      },
    });
  });
  afterAll(async () => {
    await Promise.all(archivers.map((a) => a.close()));
    await fixture.sql?.end({ timeout: 1 });
    if (fixture.redis) await closeRedisClient(fixture.redis);
    await database?.drop();
    await testRedis?.stop();
  });
  return fixture;
}
