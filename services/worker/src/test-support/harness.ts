import { type Agent, AgentError, createAgentRegistry, defaultAgents } from "@threadline/agents";
import { loadWorkerConfig, type WorkerConfig } from "@threadline/config";
import { parseChannelMessage, type RunJobData, type RunView, type ThreadEvent } from "@threadline/protocol";
import {
  createRedisClient,
  createRunsQueue,
  keys,
  LOG_START,
  type RedisClient,
  type RunsQueue,
  readLog,
  subscribeThread,
  type ThreadSubscription,
} from "@threadline/redis";
import { type RedisFixture, testEnv, uniqueId, useTestRedis } from "@threadline/testing";
import pino from "pino";
import { z } from "zod";
import { connectWorkerDeps, type WorkerConnections } from "../deps.js";
import { buildWorker, type ThreadlineWorker, type WorkerDeps } from "../worker.js";

/** The shared Redis fixture (packages/testing) with a packages/redis command connection. */
export function useWorkerRedis(): RedisFixture<RedisClient> {
  return useTestRedis((url) => createRedisClient({ url }, { name: "test" }));
}

/**
 * Writes a run record as the API would have before enqueueing the job, without its `status queued`
 * event (so a test sees exactly the events the worker publishes). Objects are stored as JSON.
 */
export async function seedRunRecord(client: RedisClient, run: RunView, ttlSeconds: number): Promise<void> {
  const key = keys.run(run.threadId, run.runId);
  await client.hset(
    key,
    Object.fromEntries(
      Object.entries(run).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]),
    ),
  );
  await client.expire(key, ttlSeconds);
}

/** Silent unless TEST_LOG_LEVEL says otherwise (read once per test file, from vitest's provided env). */
export const silentLog = pino({ level: testEnv().TEST_LOG_LEVEL ?? "silent" });

/** Worker config for a test: its own queue prefix, an ephemeral HTTP port, quick stall detection. */
export function testWorkerConfig(
  redisUrl: string,
  prefix: string,
  env: Record<string, string> = {},
): WorkerConfig {
  const config = loadWorkerConfig({
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: "silent",
    STALLED_INTERVAL_MS: "1000",
    LOCK_DURATION_MS: "1000",
    WORKER_GRACE_MS: "2000",
    TOKEN_COALESCE_MS: "0",
    ...env,
  });
  return { ...config, port: 0 };
}

/**
 * Test agents: `flaky` fails (retryable) on its first attempt and succeeds on the next; `broken`
 * always fails with a non-retryable error; `stubborn` ignores its abort signal.
 */
function testAgents(): Agent[] {
  const input = z.object({ text: z.string().default("ok") });
  const flaky: Agent = {
    name: "flaky",
    description: "fails once, then succeeds",
    inputSchema: input,
    async *run(raw, ctx) {
      const { text } = raw as { text: string };
      yield { type: "token", content: `attempt ${ctx.attempt}: ` };
      if (ctx.attempt === 1) throw new AgentError("UPSTREAM_UNAVAILABLE", "provider answered 503", true);
      yield { type: "token", content: text };
      yield { type: "done", content: { finishReason: "stop", output: { text } } };
    },
  };
  const broken: Agent = {
    name: "broken",
    description: "always fails for good",
    inputSchema: input,
    async *run() {
      yield { type: "token", content: "about to fail" };
      throw new AgentError("AUTH_FAILED", "provider answered 401: check the API key", false);
    },
  };
  const stubborn: Agent = {
    name: "stubborn",
    description: "ignores cancellation",
    inputSchema: input,
    async *run() {
      yield { type: "token", content: "waiting" };
      await new Promise((r) => setTimeout(r, 60_000).unref());
    },
  };
  return [...defaultAgents(), flaky, broken, stubborn];
}

export const testRegistry = () => createAgentRegistry(testAgents());

export function jobData(
  threadId: string,
  agent: string,
  input: Record<string, unknown>,
  extra: Partial<RunJobData> = {},
): RunJobData {
  return { runId: uniqueId("run"), threadId, agent, input, owner: "tester", ...extra };
}

export interface ThreadWatch {
  events: ThreadEvent[];
  /** Resolves with the events once `predicate` holds (or rejects after `timeoutMs`). */
  until(predicate: (events: ThreadEvent[]) => boolean, timeoutMs?: number): Promise<ThreadEvent[]>;
  /** Resolves after a `done` event for `runId`. */
  done(runId: string, timeoutMs?: number): Promise<ThreadEvent[]>;
  close(): Promise<void>;
}

/** Subscribes to a thread's live channel like a gateway would, parsing every event. */
export async function watchThread(redisUrl: string, threadId: string): Promise<ThreadWatch> {
  const events: ThreadEvent[] = [];
  let notify = () => {};
  const sub: ThreadSubscription = subscribeThread(
    createRedisClient({ url: redisUrl }, { name: "test-watch" }),
    threadId,
    {
      onMessage: (raw, channel) => {
        const parsed = parseChannelMessage(channel, raw.toString());
        if (!parsed.ok) throw new Error(`invalid event on ${channel}: ${raw.toString().slice(0, 200)}`);
        events.push(parsed.event);
        notify();
      },
    },
  );
  await sub.ready;
  const until = (predicate: (e: ThreadEvent[]) => boolean, timeoutMs = 10_000) =>
    new Promise<ThreadEvent[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        notify = () => {};
        reject(
          new Error(`timed out after ${timeoutMs} ms; events so far: ${JSON.stringify(events.map(brief))}`),
        );
      }, timeoutMs);
      notify = () => {
        if (!predicate(events)) return;
        clearTimeout(timer);
        notify = () => {};
        resolve(events);
      };
      notify();
    });
  return {
    events,
    until,
    done: (runId, timeoutMs) =>
      until((e) => e.some((x) => x.type === "done" && x.runId === runId), timeoutMs),
    close: () => sub.close(),
  };
}

/** A compact view of an event for assertions and failure messages. */
export function brief(event: ThreadEvent): string {
  if (event.type === "token") return `token`;
  if (event.type === "status")
    return `status:${event.content.state}${event.content.attempt ? `#${event.content.attempt}` : ""}`;
  if (event.type === "delta") return `delta:${event.content.kind}`;
  if (event.type === "done") return `done:${event.content.finishReason}`;
  return `error:${event.content.code}`;
}

/**
 * Queues a run as the API would (its record seeded `queued`), waits for its `done` and returns the run's
 * events as the replay log holds them.
 */
export async function runToDone(
  fixture: RedisFixture<RedisClient>,
  queue: RunsQueue,
  data: RunJobData,
  options: Parameters<RunsQueue["enqueue"]>[1] = { attempts: 1 },
): Promise<ThreadEvent[]> {
  const live = await watchThread(fixture.redis.url, data.threadId);
  fixture.cleanups.push(() => live.close());
  await seedRunRecord(
    fixture.client,
    {
      runId: data.runId,
      threadId: data.threadId,
      agent: data.agent,
      status: "queued",
      createdAt: new Date().toISOString(),
      attempts: 0,
    },
    60,
  );
  await queue.enqueue(data, options);
  await live.done(data.runId, 20_000);
  const { entries } = await readLog(fixture.client, data.threadId, LOG_START, 10_000);
  return entries.map((e) => JSON.parse(e.json) as ThreadEvent).filter((e) => e.runId === data.runId);
}

export function openQueue(redisUrl: string, prefix: string): RunsQueue {
  return createRunsQueue({ url: redisUrl, queuePrefix: prefix }, { name: "test-queue" });
}

export const newPrefix = () => `{${uniqueId("wq")}}`;

/** A worker on its own connections, wired as main.ts wires it; `close()` closes the worker, then them. */
export function buildTestWorker(
  config: WorkerConfig,
  deps: Omit<WorkerDeps, keyof WorkerConnections>,
): ThreadlineWorker {
  const connections = connectWorkerDeps(config, deps.log);
  const worker = buildWorker(config, { ...connections, ...deps });
  return {
    ...worker,
    async close() {
      await worker.close();
      await connections.close();
    },
  };
}

/**
 * Starts a test worker and opens a queue on its prefix, so a test can enqueue runs for it; both are
 * pushed onto `cleanups` (worker first, so it stops taking jobs before its queue goes away).
 */
export async function startTestWorker(
  config: WorkerConfig,
  deps: Omit<WorkerDeps, keyof WorkerConnections>,
  cleanups: (() => Promise<unknown>)[],
): Promise<RunsQueue> {
  const worker = buildTestWorker(config, deps);
  await worker.start();
  const queue = openQueue(config.redis.url, config.redis.queuePrefix);
  cleanups.push(
    () => worker.close(),
    () => queue.close(),
  );
  return queue;
}
