import type { ThreadEvent } from "@threadline/protocol";
import {
  closeRedisClient,
  createRedisClient,
  createRunRecords,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import { type RedisServer, startRedisServer, uniqueId, waitForHttp } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brief, jobData, newPrefix, openQueue, seedRunRecord } from "./test-support/harness.js";
import { startWorkerProcess, type WorkerProcess } from "./test-support/worker-process.js";

// Worker processes ride out a Redis outage (a real redis-server with AOF, SIGKILLed and started again
// on the same port): one that was running a run when Redis went away, and one started (as an
// orchestrator restarts a container) while it was away. The outage lasts OUTAGE_MS after the second
// worker's first refused connection: well past the workers' command retry budget, after which ioredis
// fails every command waiting in its offline queue — a worker that was starting then exited 1 ("max
// retries per request limit"). The default budget, 20 reconnects, is ~35 s of outage; these workers
// get COMMAND_RETRIES (~2-4 s with our backoff), so the same outage-past-the-budget takes seconds.
const COMMAND_RETRIES = 5;
const OUTAGE_MS = 10_000;
let redis: RedisServer;
let client: RedisClient;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: true });
  client = createRedisClient({ url: redis.url }, { name: "test" });
  client.on("error", () => {});
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(2_000)));
  await closeRedisClient(client);
  await redis?.dispose();
});

const eventsOf = async (threadId: string) =>
  (await readLog(client, threadId, "0", 10_000)).entries.map((e) => JSON.parse(e.json) as ThreadEvent);

describe("workers during a Redis outage (real worker processes, real redis-server stopped and restarted)", () => {
  it("survive an outage past their command retry budget (running, or started during it): the in-flight run's failure is published, it ends; the queued run runs", async () => {
    const prefix = newPrefix();
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      REDIS_COMMAND_RETRIES: String(COMMAND_RETRIES),
      WORKER_CONCURRENCY: "1",
      TOKEN_COALESCE_MS: "0",
      // Locks lapse during any outage this long: stalled jobs are found again within seconds.
      STALLED_INTERVAL_MS: "2000",
      LOCK_DURATION_MS: "5000",
    };
    const running = await startWorkerProcess("worker-running", env);
    workers.push(running);
    const queue = openQueue(redis.url, prefix);
    queue.queue.on("error", () => {});
    const output = () => workers.map((w) => `--- ${w.name} ---\n${w.output().slice(-4_000)}`).join("\n");
    try {
      const threadId = uniqueId("outage");
      // In flight when Redis goes away (~6 s of tokens), and one queued behind it (concurrency 1).
      const inFlight = jobData(threadId, "demo", { prompt: "in flight", tokensPerSecond: 10, maxTokens: 60 });
      const queued = jobData(threadId, "demo", { prompt: "queued", tokensPerSecond: 0, maxTokens: 5 });
      for (const run of [inFlight, queued]) {
        const { runId, agent } = run;
        const createdAt = new Date().toISOString();
        await seedRunRecord(
          client,
          { runId, threadId, agent, status: "queued", createdAt, attempts: 0 },
          600,
        );
        await queue.enqueue(run, { attempts: 3 });
      }
      await expect
        .poll(async () => (await eventsOf(threadId)).length, { timeout: 30_000 })
        .toBeGreaterThan(5);

      const downAt = Date.now();
      await redis.stop(true);
      const restarted = await startWorkerProcess("worker-started-during-outage", env, {
        waitForReady: false,
      });
      workers.push(restarted);
      await expect.poll(() => restarted.output(), { timeout: 30_000 }).toContain("ECONNREFUSED");
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      for (const w of workers)
        expect(w.alive(), `${w.name} exited during the outage:\n${output()}`).toBe(true);
      const upAt = Date.now();
      await redis.start();

      await waitForHttp(`http://127.0.0.1:${restarted.port}/readyz`, 30_000);
      const runs = createRunRecords(client);
      const ended = async (runId: string) => (await runs.get(threadId, runId))?.status;
      await expect.poll(() => ended(queued.runId), { timeout: 60_000, interval: 250 }).toBe("completed");
      await expect.poll(() => ended(inFlight.runId), { timeout: 60_000, interval: 250 }).toBe("completed");
      console.log(
        `Redis outage ${upAt - downAt} ms: both workers up; both runs completed ${Date.now() - upAt} ms after redis-server was back`,
      );
      for (const w of workers) {
        expect(w.alive()).toBe(true);
        expect((await fetch(`http://127.0.0.1:${w.port}/readyz`)).status).toBe(200);
      }

      const own = (await eventsOf(threadId)).filter((e) => e.runId === inFlight.runId).map(brief);
      // The attempt that lost Redis says so before the next attempt starts; one done, last.
      const retry = own.findIndex((k) => k.startsWith("status:retrying"));
      expect(retry, own.join(" ")).toBeGreaterThan(0);
      expect(own.slice(0, retry).filter((k) => k.startsWith("error:"))).toHaveLength(1);
      expect(own.filter((k) => k.startsWith("done"))).toEqual(["done:stop"]);
      expect(own.at(-1)).toBe("done:stop");
    } catch (error) {
      // The workers' own logs say what they did with the outage.
      throw new Error(`${(error as Error).message}\n${output()}`);
    } finally {
      await queue.close();
    }
  }, 240_000);
});
