/**
 * The archive's two figures (issue 17): how far the archive trails Redis under a steady publish
 * load (lag = commit of an event's batch − its publish), and what marking threads for the archiver
 * costs the publish path (one run published as fast as possible, with and without the mark).
 * Real Redis (spawned) and the real PostgreSQL at TEST_DATABASE_URL (a database created and dropped).
 * Usage: pnpm bench:archive [--rate 10000] [--seconds 10] [--threads 10] [--events 20000]
 */
import { parseArgs } from "node:util";
import { connectArchive, createArchiver, createArchiveWriter, migrateArchive } from "@threadline/archive";
import {
  closeRedisClient,
  createArchiveFeed,
  createEventPublisher,
  createRedisClient,
  createRunRecords,
  type EventPublisher,
  withArchiveFeed,
} from "@threadline/redis";
import { createTestDatabase, getTestRedis, uniqueId } from "@threadline/testing";
import { pino } from "pino";
import { scriptArgs } from "./lib/cli-args.js";

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    rate: { type: "string", default: "10000" },
    seconds: { type: "string", default: "10" },
    threads: { type: "string", default: "10" },
    events: { type: "string", default: "20000" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const threadCount = Number(values.threads);
const runEvents = Number(values.events);

// A script: it passes its own environment to the test kit (which reads none).
const redisServer = await getTestRedis(process.env);
const database = await createTestDatabase(process.env);
const redis = createRedisClient({ url: redisServer.url }, { name: "bench-archive" });
const sql = connectArchive(database.url, { name: "bench-archive" });
try {
  await migrateArchive(sql);
  const base = createEventPublisher(redis, { logMaxLen: 1_000_000, logTtlSeconds: 600 });
  const feed = createArchiveFeed(redis, { markIntervalMs: 100 });

  // 1. Publish-path cost: one run, the same events, one at a time, without and with the mark.
  const oneRun = async (publisher: EventPublisher) => {
    const target = { threadId: uniqueId("cost"), runId: uniqueId("run") };
    const started = performance.now();
    for (let i = 0; i < runEvents; i++) await publisher.publish(target, { type: "token", content: `t${i} ` });
    return runEvents / ((performance.now() - started) / 1000);
  };
  await oneRun(base); // warm-up
  const off = await oneRun(base);
  const on = await oneRun(withArchiveFeed(base, feed));
  const off2 = await oneRun(base);
  const on2 = await oneRun(withArchiveFeed(base, feed));
  await redis.del("threadline:archive:dirty");

  // 2. Lag under load: `rate` events/s over `threadCount` runs, an archiver (as in a worker) copying.
  const published = new Map<string, number[]>();
  const lags: number[] = [];
  const writer = createArchiveWriter({ sql, redis, runs: createRunRecords(redis), batchSize: 500 });
  const archiver = createArchiver({
    feed,
    writer,
    log: pino({ level: "silent" }),
    pollMs: 200,
    onCopied(threadId, copied) {
      const now = Date.now();
      const queue = published.get(threadId) ?? [];
      for (const ts of queue.splice(0, copied)) lags.push(now - ts);
    },
  });
  archiver.start();
  const publisher = withArchiveFeed(base, feed);
  const targets = Array.from({ length: threadCount }, () => ({
    threadId: uniqueId("lag"),
    runId: uniqueId("run"),
  }));
  for (const t of targets) published.set(t.threadId, []);
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000 / threadCount));
  const total = perTick * threadCount * Math.round((seconds * 1000) / tickMs);
  const loadStart = performance.now();
  let sent = 0;
  for (let tick = 0; sent < total; tick++) {
    await Promise.all(
      targets.map(async (target) => {
        for (let i = 0; i < perTick; i++) {
          const { ts } = await publisher.publish(target, { type: "token", content: `x${sent} ` });
          published.get(target.threadId)?.push(ts);
        }
      }),
    );
    sent += perTick * threadCount;
    const wait = loadStart + (tick + 1) * tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const achieved = sent / ((performance.now() - loadStart) / 1000);
  const drainStart = Date.now();
  while (lags.length < sent && Date.now() - drainStart < 60_000) await new Promise((r) => setTimeout(r, 20));
  await archiver.close();
  await feed.flush();

  lags.sort((a, b) => a - b);
  const pct = (p: number) =>
    lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? Number.NaN;
  console.log(`redis: ${redisServer.source}; PostgreSQL: ${new URL(database.url).host}`);
  console.log("\n| publish path, one run, one event at a time | events/s |\n|---|---|");
  console.log(`| archive off (plain publish script) | ${Math.round((off + off2) / 2)} |`);
  console.log(`| archive on (+ throttled dirty mark) | ${Math.round((on + on2) / 2)} |`);
  console.log(
    `on / off = ${((on + on2) / (off + off2)).toFixed(3)} (runs: off ${Math.round(off)}, ${Math.round(off2)}; on ${Math.round(on)}, ${Math.round(on2)})`,
  );
  console.log(
    `\n| archive lag at ${Math.round(achieved)} events/s (target ${rate}) over ${threadCount} runs, ${sent} events | ms |\n|---|---|`,
  );
  console.log(`| p50 | ${pct(50)} |\n| p99 | ${pct(99)} |\n| max | ${lags.at(-1)} |`);
  console.log(`archived ${lags.length}/${sent} events`);
} finally {
  await sql.end({ timeout: 1 });
  await closeRedisClient(redis);
  await database.drop();
  await redisServer.stop();
}
