import { compareIds } from "@threadline/redis";
import { eventually, openSse, type SseConnection, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpJson } from "../support/http-json.js";
import { type Stack, type StackOptions, startStack } from "../support/stack.js";

let stack: Stack;

interface Ev {
  type: string;
  threadId: string;
  runId?: string;
  seq?: number;
  id?: string;
  ts: number;
  content: unknown;
}
interface RunView {
  runId: string;
  status: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  attempts: number;
}

const PROMPT = "What is 17 * 23? Count the words of this question too.";

async function createRun(threadId: string, sub: string, input: Record<string, unknown>) {
  const res = await httpJson<{ runId: string; eventsUrl: string; status: string }>(
    `${stack.api.url}/v1/threads/${threadId}/runs`,
    {
      authorization: stack.bearer(sub),
      body: { input },
    },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body;
}

/** A live stream of a thread that ends after its `done` (`?until=done`), opened before the run exists. */
async function watch(threadId: string, sub: string, query = "until=done"): Promise<SseConnection> {
  const conn = await openSse(`${stack.gateway.url}/v1/threads/${threadId}/events?${query}`, {
    headers: { authorization: stack.bearer(sub, { threads: [threadId] }) },
  });
  expect(conn.status, conn.body).toBe(200);
  return conn;
}

const parsed = (conn: SseConnection) => conn.json<Ev>();
const isDone = (conn: SseConnection) => conn.events.some((e) => e.event === "done");

function expectGapFreeAndOrdered(events: Ev[], runId: string) {
  expect(events.every((e) => e.runId === runId)).toBe(true);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  for (let i = 1; i < events.length; i++)
    expect(compareIds(events[i - 1]!.id!, events[i]!.id!)).toBeLessThan(0);
}

async function getRun(threadId: string, runId: string, sub = "alice") {
  return httpJson<RunView>(`${stack.api.url}/v1/threads/${threadId}/runs/${runId}`, {
    authorization: stack.bearer(sub),
  });
}

/**
 * The runs suite, defined once and run against standalone Redis (tests/e2e/runs.test.ts) and a local
 * 3-master Redis Cluster (tests/scale/runs-cluster.test.ts). The three real services run as child
 * processes (from source, no build needed) on free ports: one worker with concurrency 1 until the
 * crash test adds a second. `extra` adds tests that share the same stack.
 */
export function defineRunsSuite(options: StackOptions = {}, extra?: (getStack: () => Stack) => void): void {
  beforeAll(async () => {
    stack = await startStack({
      workers: 1,
      ...options,
      envFor: { ...options.envFor, worker: { WORKER_CONCURRENCY: "1", ...options.envFor?.worker } },
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  describe("a demo run end to end", () => {
    it("streams status, tool calls with arguments, tokens and done; replay after=0 equals the live stream; the run completes", async () => {
      const threadId = uniqueId("e2e");
      const live = await watch(threadId, "alice");
      const { runId, eventsUrl } = await createRun(threadId, "alice", {
        prompt: PROMPT,
        tokensPerSecond: 200,
        maxTokens: 24,
      });
      expect(eventsUrl).toBe(`${stack.gateway.url}/v1/threads/${threadId}/events`);
      await live.waitFor(isDone, 30_000);
      await live.ended;

      const events = parsed(live);
      expectGapFreeAndOrdered(events, runId);
      expect(live.events.map((e) => e.event)).toEqual(events.map((e) => e.type));
      expect(live.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(events[0]).toMatchObject({ type: "status", seq: 1, content: { state: "queued" } });
      expect(events).toContainEqual(
        expect.objectContaining({
          type: "status",
          content: expect.objectContaining({ state: "running", attempt: 1 }),
        }),
      );
      const toolCalls = events.filter(
        (e) => e.type === "delta" && (e.content as { kind: string }).kind === "tool_call",
      );
      expect(toolCalls.length).toBeGreaterThanOrEqual(2);
      for (const call of toolCalls) {
        expect(call.content).toMatchObject({ name: expect.any(String), args: expect.any(Object) });
        expect(Object.keys((call.content as { args: object }).args).length).toBeGreaterThan(0);
      }
      expect(toolCalls[0]!.content).toMatchObject({ name: "word_count", args: { text: PROMPT } });
      expect(
        events.filter((e) => e.type === "delta" && (e.content as { kind: string }).kind === "tool_result")
          .length,
      ).toBe(toolCalls.length);
      expect(events.filter((e) => e.type === "token").length).toBeGreaterThanOrEqual(5);
      expect(events.at(-1)).toMatchObject({ type: "done", content: { finishReason: "stop" } });

      // Replay from the start is byte-for-byte the live stream.
      const replay = await openSse(`${stack.gateway.url}/v1/threads/${threadId}/events?after=0&until=done`, {
        headers: { authorization: stack.bearer("alice") },
      });
      expect(replay.status).toBe(200);
      await replay.ended;
      expect(replay.events).toEqual(live.events);

      // So is the API's JSON page of the log.
      const page = await httpJson<{ events: Ev[]; truncated: boolean }>(
        `${stack.api.url}/v1/threads/${threadId}/events?after=0&limit=1000`,
        {
          authorization: stack.bearer("alice"),
        },
      );
      expect(page.body.truncated).toBe(false);
      expect(page.body.events).toEqual(events);

      const run = await eventually(
        () => getRun(threadId, runId),
        (r) => r.body.status === "completed",
        "run completed",
      );
      expect(run.body).toMatchObject({ runId, status: "completed", attempts: 1 });
      const created = Date.parse(run.body.createdAt);
      const started = Date.parse(run.body.startedAt!);
      const finished = Date.parse(run.body.finishedAt!);
      expect(created).toBeLessThanOrEqual(started);
      expect(started).toBeLessThanOrEqual(finished);
    }, 60_000);

    it("a second subject gets 403 on another's thread at the API and the gateway", async () => {
      const threadId = uniqueId("e2e");
      const { runId } = await createRun(threadId, "alice", {
        prompt: "mine",
        tokensPerSecond: 0,
        maxTokens: 5,
      });
      const bob = stack.bearer("bob");

      const sse = await openSse(`${stack.gateway.url}/v1/threads/${threadId}/events?after=0`, {
        headers: { authorization: bob },
      });
      expect(sse.status).toBe(403);
      expect(JSON.parse(sse.body).error.code).toBe("FORBIDDEN");
      const api = [
        await httpJson(`${stack.api.url}/v1/threads/${threadId}/runs`, {
          authorization: bob,
          body: { input: { prompt: "theirs" } },
        }),
        await httpJson(`${stack.api.url}/v1/threads/${threadId}/runs/${runId}`, { authorization: bob }),
        await httpJson(`${stack.api.url}/v1/threads/${threadId}/events?after=0`, { authorization: bob }),
        await httpJson(`${stack.api.url}/v1/threads/${threadId}/runs/${runId}/cancel`, {
          authorization: bob,
          method: "POST",
        }),
      ];
      expect(api.map((r) => r.status)).toEqual([403, 403, 403, 403]);
      expect(api.map((r) => (r.body as { error: { code: string } }).error.code)).toEqual([
        "FORBIDDEN",
        "FORBIDDEN",
        "FORBIDDEN",
        "FORBIDDEN",
      ]);
      // The owner still reads it.
      expect((await getRun(threadId, runId)).status).toBe(200);
    }, 30_000);
  });

  describe("cancellation", () => {
    it("cancel mid-stream ends with status cancelled + done cancelled within 1 s, and the worker takes the next job", async () => {
      const threadId = uniqueId("e2e");
      const live = await watch(threadId, "alice");
      const { runId } = await createRun(threadId, "alice", {
        prompt: PROMPT,
        tokensPerSecond: 20,
        maxTokens: 400,
      });
      await live.waitFor((c) => c.events.filter((e) => e.event === "token").length >= 3, 30_000);

      const asked = performance.now();
      const res = await httpJson<{ status: string }>(
        `${stack.api.url}/v1/threads/${threadId}/runs/${runId}/cancel`,
        {
          authorization: stack.bearer("alice"),
          method: "POST",
        },
      );
      expect(res.status).toBe(202);
      expect(res.body.status).toBe("cancelling");
      await live.waitFor(isDone, 5_000);
      const elapsed = performance.now() - asked;
      expect(elapsed).toBeLessThan(1_000);

      const events = parsed(live);
      expectGapFreeAndOrdered(events, runId);
      expect(events.slice(-2)).toMatchObject([
        { type: "status", content: { state: "cancelled" } },
        { type: "done", content: { finishReason: "cancelled" } },
      ]);
      expect(events.filter((e) => e.type === "token").length).toBeLessThan(400);
      await eventually(
        () => getRun(threadId, runId),
        (r) => r.body.status === "cancelled" && !!r.body.finishedAt,
        "run cancelled",
      );

      // The only worker (concurrency 1) is free again: the next run completes.
      const nextThread = uniqueId("e2e");
      const next = await watch(nextThread, "alice");
      const second = await createRun(nextThread, "alice", {
        prompt: "next",
        tokensPerSecond: 0,
        maxTokens: 8,
      });
      await next.waitFor(isDone, 15_000);
      expect(parsed(next).at(-1)).toMatchObject({
        runId: second.runId,
        type: "done",
        content: { finishReason: "stop" },
      });
    }, 60_000);

    it("cancel of a finished run is 409 RUN_FINISHED", async () => {
      const threadId = uniqueId("e2e");
      const live = await watch(threadId, "alice");
      const { runId } = await createRun(threadId, "alice", {
        prompt: "short",
        tokensPerSecond: 0,
        maxTokens: 5,
      });
      await live.waitFor(isDone, 15_000);
      await eventually(
        () => getRun(threadId, runId),
        (r) => r.body.status === "completed",
        "run completed",
      );
      const res = await httpJson<{ error: { code: string } }>(
        `${stack.api.url}/v1/threads/${threadId}/runs/${runId}/cancel`,
        {
          authorization: stack.bearer("alice"),
          method: "POST",
        },
      );
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("RUN_FINISHED");
    }, 30_000);
  });

  describe("a worker killed mid-run", () => {
    it("with a second worker running, the run completes with status retrying and gap-free seq", async () => {
      await stack.addWorker({ WORKER_CONCURRENCY: "1" });
      const threadId = uniqueId("e2e");
      const live = await watch(threadId, "alice");
      const { runId } = await createRun(threadId, "alice", {
        prompt: PROMPT,
        tokensPerSecond: 20,
        maxTokens: 80,
      });
      await live.waitFor((c) => c.events.filter((e) => e.event === "token").length >= 3, 30_000);

      const holder = await eventually(
        async () => stack.workers.find((w) => w.process.alive() && w.logs().includes(runId)),
        (w) => w !== undefined,
        "the worker that holds the run",
      );
      await holder!.process.kill("SIGKILL");
      await live.waitFor(isDone, 45_000);

      const events = parsed(live);
      expectGapFreeAndOrdered(events, runId);
      const states = events
        .filter((e) => e.type === "status")
        .map((e) => e.content as { state: string; attempt?: number });
      expect(states).toContainEqual(expect.objectContaining({ state: "running", attempt: 1 }));
      expect(states).toContainEqual(expect.objectContaining({ state: "retrying", attempt: 2 }));
      expect(events.at(-1)).toMatchObject({ type: "done", content: { finishReason: "stop" } });
      const run = await eventually(
        () => getRun(threadId, runId),
        (r) => r.body.status === "completed",
        "run completed",
      );
      expect(run.body.attempts).toBe(2);
    }, 120_000);
  });

  extra?.(() => stack);
}
