import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import {
  closeRedisClient,
  createRedisClient,
  keys,
  LOG_START,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import {
  childEnv,
  getTestRedis,
  type ManagedProcess,
  type ServiceInstance,
  startProcess,
  startServiceProcess,
  type TestRedis,
  testEnv,
  uniqueId,
} from "@threadline/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { httpJson } from "../support/http-json.js";

// Issue 15's done-when items with real processes: Python producers and readers as child processes,
// services SIGKILLed and restarted around them, two API instances watching for silent producers.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = testEnv().PYTHON ?? "/usr/bin/python3";
// Longer than a service restart takes here (the runs of the first two tests pause while one restarts).
const TIMEOUT_MS = 12_000;
const USER = signDevToken(DEV_JWT_SECRET, { sub: "py-faults" });
let redis: TestRedis;
let client: RedisClient;
let env: Record<string, string>;
let apis: ServiceInstance[];
let gateway: ServiceInstance;
const children: ManagedProcess[] = [];

beforeAll(async () => {
  redis = await getTestRedis();
  client = createRedisClient({ url: redis.url }, { name: "py-faults" });
  env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `{${uniqueId("pyq")}}`,
    LOG_LEVEL: "warn",
    RATE_LIMIT_RUNS_PER_MINUTE: "0",
    EXTERNAL_RUN_TIMEOUT_MS: String(TIMEOUT_MS),
    EXTERNAL_RUN_CHECK_MS: "200",
    HEARTBEAT_INTERVAL_MS: "1000",
  };
  [gateway, ...apis] = (await Promise.all([
    startServiceProcess({ kind: "gateway", name: "gateway", env }),
    startServiceProcess({ kind: "api", name: "api-a", env }),
    startServiceProcess({ kind: "api", name: "api-b", env }),
  ])) as [ServiceInstance, ...ServiceInstance[]];
}, 180_000);
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop(2_000)));
});
afterAll(async () => {
  await Promise.all([gateway, ...(apis ?? [])].filter(Boolean).map((s) => s.process.stop(5_000)));
  if (client) await closeRedisClient(client);
  await redis?.stop();
}, 60_000);

async function child(name: string, ...args: string[]): Promise<ManagedProcess> {
  const proc = await startProcess({
    name,
    command: PYTHON,
    args: ["packages/python/tests/children/child.py", ...args],
    cwd: ROOT,
    env: { ...childEnv(), PYTHONPATH: "packages/python", PYTHONDONTWRITEBYTECODE: "1" },
    keepOutputChars: 8 * 1024 * 1024,
  });
  children.push(proc);
  return proc;
}

async function createRun(api: ServiceInstance) {
  const threadId = uniqueId("pyf");
  const res = await httpJson<Record<string, string>>(`${api.url}/v1/threads/${threadId}/runs`, {
    authorization: `Bearer ${USER}`,
    body: { runner: "external" },
  });
  expect(res.status).toBe(202);
  const file = join(tmpdir(), `${res.body.runId}.json`);
  writeFileSync(file, JSON.stringify(res.body));
  return { threadId, runId: res.body.runId as string, publishToken: res.body.publishToken as string, file };
}

async function logEntries(threadId: string): Promise<string[]> {
  const page = await readLog(client, threadId, LOG_START, 100_000);
  return page.entries.map((entry) => entry.json);
}

async function restart(service: ServiceInstance): Promise<ServiceInstance> {
  await service.process.kill("SIGKILL");
  return startServiceProcess({ kind: service.kind, name: `${service.name}-again`, port: service.port, env });
}

const lines = (proc: ManagedProcess) =>
  proc
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"));

describe("Python SDK under faults (real processes)", { timeout: 180_000 }, () => {
  it("stream_events survives a gateway SIGKILL + restart mid-run: nothing lost or doubled", async () => {
    const run = await createRun(apis[0]!);
    const reader = await child("reader", "stream", gateway.url, run.threadId, USER, run.runId);
    const publish = (from: number, to: number) =>
      httpJson(`${apis[0]!.url}/v1/threads/${run.threadId}/runs/${run.runId}/events`, {
        authorization: `Bearer ${run.publishToken}`,
        body: Array.from({ length: to - from }, (_, i) => ({ type: "token", content: `t${from + i} ` })),
      });
    for (let i = 0; i < 100; i += 10) expect((await publish(i, i + 10)).status).toBe(200);
    await expect.poll(() => lines(reader).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(50);
    gateway = await restart(gateway);
    for (let i = 100; i < 300; i += 10) expect((await publish(i, i + 10)).status).toBe(200);
    const done = await httpJson(`${apis[1]!.url}/v1/threads/${run.threadId}/runs/${run.runId}/events`, {
      authorization: `Bearer ${run.publishToken}`,
      body: { type: "done", content: { finishReason: "stop" } },
    });
    expect(done.status).toBe(200);
    expect((await reader.exited).code, reader.output()).toBe(0);
    expect(lines(reader)).toEqual(await logEntries(run.threadId));
    expect(lines(reader)).toHaveLength(302);
  });

  it("a batch in flight when the API is SIGKILLed is re-sent and appended once", async () => {
    const run = await createRun(apis[0]!);
    const count = 3_000;
    const producer = await child("producer", "publish", apis[0]!.url, run.file, String(count), "100");
    await expect
      .poll(async () => client.xlen(keys.threadLog(run.threadId)), { timeout: 30_000 })
      .toBeGreaterThan(300);
    apis[0] = await restart(apis[0]!);
    expect((await producer.exited).code, producer.output()).toBe(0);
    const events = (await logEntries(run.threadId)).map(
      (e) => JSON.parse(e) as { type: string; seq: number; content: unknown },
    );
    const tokens = events.filter((e) => e.type === "token").map((e) => e.content);
    expect(tokens).toEqual(Array.from({ length: count }, (_, i) => `t${i} `));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.type).toBe("done");
  });

  it("a producer SIGKILLed mid-run: RUNNER_LOST once, within the timeout, with two API instances", async () => {
    const run = await createRun(apis[1]!);
    const producer = await child("producer", "forever", apis[0]!.url, run.file);
    await expect.poll(() => producer.output().split("tick").length, { timeout: 30_000 }).toBeGreaterThan(5);
    await producer.kill("SIGKILL");
    const killedAt = Date.now();
    await expect
      .poll(async () => (await logEntries(run.threadId)).some((e) => e.includes('"type":"done"')), {
        timeout: 30_000,
      })
      .toBe(true);
    const events = (await logEntries(run.threadId)).map(
      (e) => JSON.parse(e) as { type: string; ts: number; content: { code?: string } },
    );
    const lost = events.filter((e) => e.type === "error");
    expect(lost.map((e) => e.content.code)).toEqual(["RUNNER_LOST"]);
    expect(events.filter((e) => e.type === "done")).toHaveLength(1);
    const lastTick = events.filter((e) => e.type === "token").at(-1)!.ts;
    // Failed no earlier than the timeout after the last event, and within one more check interval or so.
    expect(lost[0]!.ts - lastTick).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(lost[0]!.ts - killedAt).toBeLessThan(TIMEOUT_MS + 1_000);
    const record = await httpJson<{ status: string }>(
      `${apis[0]!.url}/v1/threads/${run.threadId}/runs/${run.runId}`,
      {
        authorization: `Bearer ${USER}`,
      },
    );
    expect(record.body.status).toBe("failed");
  });
});
