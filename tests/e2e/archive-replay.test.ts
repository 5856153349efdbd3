import { connectArchive } from "@threadline/archive";
import { createTestDatabase, type TestDatabase, uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpJson } from "../support/http-json.js";
import { parseExposition } from "../support/prometheus-text.js";
import { type Stack, startStack } from "../support/stack.js";

// The durable archive end to end: real api, gateway and worker processes, a real Redis and a real
// PostgreSQL database created for this file. LOG_MAXLEN is small so Redis trims within one run.
let database: TestDatabase;
let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  database = await createTestDatabase();
  stack = await startStack({ env: { DATABASE_URL: database.url, LOG_MAXLEN: "20", ARCHIVE_POLL_MS: "50" } });
  redis = new Redis(stack.redisUrl);
}, 120_000);
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await database?.drop();
});

async function sse(threadId: string, bearer: string, after: string): Promise<string> {
  const res = await fetch(`${stack.gateway.url}/v1/threads/${threadId}/events?after=${after}&until=done`, {
    headers: { authorization: bearer },
    signal: AbortSignal.timeout(30_000),
  });
  expect(res.status).toBe(200);
  return res.text();
}

/** `id:`/`event:`/`data:` frames of an SSE body (the `retry:` line and keepalives left out). */
function frames(body: string): string[] {
  return body
    .split("\n\n")
    .map((f) => f.trim())
    .filter((f) => f.startsWith("id:") || f.startsWith("event:"));
}

async function runToEnd(threadId: string, bearer: string, input: Record<string, unknown>) {
  const created = await httpJson<{ runId: string }>(`${stack.api.url}/v1/threads/${threadId}/runs`, {
    authorization: bearer,
    body: { agent: "demo", input },
  });
  expect(created.status).toBe(202);
  const streamed = await sse(threadId, bearer, "0");
  const runUrl = `${stack.api.url}/v1/threads/${threadId}/runs/${created.body.runId}`;
  await expect
    .poll(
      async () =>
        (await httpJson<{ archivedAt?: string }>(runUrl, { authorization: bearer })).body.archivedAt,
      {
        timeout: 15_000,
      },
    )
    .toBeDefined();
  return { runId: created.body.runId, runUrl, streamed };
}

describe("archive: history that outlives Redis (real processes, Redis, PostgreSQL)", () => {
  it("after FLUSHALL the run record, the events page and an after=0 stream still return the whole run, byte-identical", async () => {
    const threadId = uniqueId("th");
    const alice = stack.bearer("alice");
    const { runUrl, streamed } = await runToEnd(threadId, alice, {
      prompt: "remember me",
      tokensPerSecond: 500,
      maxTokens: 40,
    });
    const before = (await httpJson<Record<string, unknown>>(runUrl, { authorization: alice })).body;

    await redis.flushall();

    const after = await httpJson<Record<string, unknown>>(runUrl, { authorization: alice });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      runId: before.runId,
      status: "completed",
      archivedAt: expect.any(String),
    });
    expect(frames(await sse(threadId, alice, "0"))).toEqual(frames(streamed));
    const page = await httpJson<{ events: { id: string }[]; truncated: boolean }>(
      `${stack.api.url}/v1/threads/${threadId}/events?after=0&limit=1000`,
      { authorization: alice },
    );
    expect(page.body.truncated).toBe(false);
    const streamedData = frames(streamed).map((f) =>
      f
        .split("\n")
        .find((l) => l.startsWith("data: "))
        ?.slice(6),
    );
    expect(page.body.events.map((e) => JSON.stringify(e))).toEqual(streamedData);
    // The owner survives in the archive: another subject is still refused.
    expect((await httpJson(runUrl, { authorization: stack.bearer("mallory") })).status).toBe(403);
  }, 90_000);

  it("a client resuming from an id Redis trimmed long ago gets every later event, archive then Redis, with no REPLAY_TRUNCATED", async () => {
    const threadId = uniqueId("th");
    const bob = stack.bearer("bob");
    const { streamed } = await runToEnd(threadId, bob, {
      prompt: "a long answer",
      tokensPerSecond: 1000,
      maxTokens: 300,
    });
    const all = frames(streamed);
    const resumeId = /^id: (\S+)/.exec(all[5] ?? "")?.[1] ?? "";
    // The log keeps what the archive had not copied while the run went on; archived now, the next
    // append would trim it to LOG_MAXLEN. Trim as that append would.
    await redis.xtrim(`{thread:${threadId}}:log`, "MAXLEN", 20);
    // Precondition: Redis no longer holds that position.
    expect(await redis.xrange(`{thread:${threadId}}:log`, resumeId, resumeId)).toEqual([]);

    const resumed = await sse(threadId, bob, resumeId);
    expect(resumed).not.toContain("REPLAY_TRUNCATED");
    expect(frames(resumed)).toEqual(all.slice(6));
  }, 90_000);

  it("lists the caller's threads newest first with cursor pages, and a thread as a conversation", async () => {
    const carol = stack.bearer(`carol-${uniqueId()}`);
    const first = uniqueId("th");
    const second = uniqueId("th");
    await runToEnd(first, carol, { prompt: "What is 6 times 7?", tokensPerSecond: 500, maxTokens: 20 });
    const { streamed } = await runToEnd(second, carol, {
      prompt: "Second thread",
      tokensPerSecond: 500,
      maxTokens: 20,
    });

    type Threads = {
      threads: { threadId: string; lastStatus: string; preview: string }[];
      nextCursor: string | null;
    };
    const page1 = await httpJson<Threads>(`${stack.api.url}/v1/threads?limit=1`, { authorization: carol });
    expect(page1.status).toBe(200);
    expect(page1.body.threads).toEqual([
      expect.objectContaining({ threadId: second, lastStatus: "completed", preview: "Second thread" }),
    ]);
    const page2 = await httpJson<Threads>(
      `${stack.api.url}/v1/threads?limit=1&cursor=${page1.body.nextCursor}`,
      {
        authorization: carol,
      },
    );
    expect(page2.body).toEqual({
      threads: [expect.objectContaining({ threadId: first, preview: "What is 6 times 7?" })],
      nextCursor: null,
    });
    expect(
      (await httpJson(`${stack.api.url}/v1/threads?cursor=garbage`, { authorization: carol })).status,
    ).toBe(400);

    type Messages = { messages: { role: string; content: string; toolCalls?: { name: string }[] }[] };
    const messages = await httpJson<Messages>(`${stack.api.url}/v1/threads/${second}/messages`, {
      authorization: carol,
    });
    const tokens = frames(streamed)
      .filter((f) => f.includes("event: token"))
      .map((f) => JSON.parse(f.split("data: ")[1] ?? "{}").content as string)
      .join("");
    expect(messages.body.messages).toEqual([
      expect.objectContaining({ role: "user", content: "Second thread" }),
      expect.objectContaining({ role: "assistant", content: tokens, toolCalls: expect.any(Array) }),
    ]);
    expect(
      (
        await httpJson(`${stack.api.url}/v1/threads/${second}/messages`, {
          authorization: stack.bearer("eve"),
        })
      ).status,
    ).toBe(403);
  }, 90_000);

  it("DELETE removes log, meta, run records and archive rows, ends live streams with THREAD_DELETED, and is refused for another subject", async () => {
    const threadId = uniqueId("th");
    const dave = stack.bearer("dave");
    const { runUrl } = await runToEnd(threadId, dave, {
      prompt: "delete me",
      tokensPerSecond: 500,
      maxTokens: 20,
    });
    const threadUrl = `${stack.api.url}/v1/threads/${threadId}`;
    expect(
      (await httpJson(threadUrl, { method: "DELETE", authorization: stack.bearer("mallory") })).status,
    ).toBe(403);

    const live = await fetch(`${stack.gateway.url}/v1/threads/${threadId}/events`, {
      headers: { authorization: dave },
      signal: AbortSignal.timeout(20_000),
    });
    expect(live.status).toBe(200);
    const deleted = await httpJson(threadUrl, { method: "DELETE", authorization: dave });
    expect(deleted.status).toBe(204);
    const tail = await live.text(); // ends: the gateway closes the stream after THREAD_DELETED
    expect(tail).toMatch(/event: run-error\ndata: .*"code":"THREAD_DELETED"/);

    const [, found] = await redis.scan("0", "MATCH", `{thread:${threadId}}*`, "COUNT", 100_000);
    expect(found).toEqual([]);
    const sql = connectArchive(database.url, { name: "delete-check" });
    try {
      const counts = await sql`select
        (select count(*)::int from events where thread_id = ${threadId}) as events,
        (select count(*)::int from runs where thread_id = ${threadId}) as runs,
        (select count(*)::int from threads where thread_id = ${threadId}) as threads`;
      expect(counts[0]).toEqual({ events: 0, runs: 0, threads: 0 });
    } finally {
      await sql.end({ timeout: 1 });
    }
    // Nothing is left to read (an admin may read any thread: it is simply gone).
    expect((await httpJson(runUrl, { authorization: stack.bearer("ops", { role: "admin" }) })).status).toBe(
      404,
    );
  }, 90_000);

  it("DELETE mid-run stops the running job: the worker is fenced off and the thread does not come back", async () => {
    const threadId = uniqueId("th");
    const erin = stack.bearer("erin");
    const created = await httpJson<{ runId: string }>(`${stack.api.url}/v1/threads/${threadId}/runs`, {
      authorization: erin,
      body: { agent: "demo", input: { prompt: "a slow answer", tokensPerSecond: 20, maxTokens: 2_000 } },
    });
    expect(created.status).toBe(202);
    const { runId } = created.body;
    const logKey = `{thread:${threadId}}:log`;
    const tokens = async () =>
      (await redis.xrange(logKey, "-", "+")).filter(([, fields]) => fields[1]?.includes('"type":"token"'))
        .length;
    await expect.poll(tokens, { timeout: 30_000 }).toBeGreaterThan(3);
    expect(await activeRuns()).toBe(1);

    const deleted = await httpJson(`${stack.api.url}/v1/threads/${threadId}`, {
      method: "DELETE",
      authorization: erin,
    });
    expect(deleted.status).toBe(204);
    // The worker stops the agent (it was told, and its next event would be refused anyway)…
    await expect.poll(activeRuns, { timeout: 10_000 }).toBe(0);
    // …and at 20 tokens/s the agent had ~100 s of answer left: nothing of the thread came back but the
    // run's fence, which expires on its own.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const [, found] = await redis.scan("0", "MATCH", `{thread:${threadId}}*`, "COUNT", 100_000);
    expect(found).toEqual([`{thread:${threadId}}:pub:${runId}`]);
    expect(await redis.hgetall(found[0]!)).toEqual({ done: "deleted" });
    expect(stack.workers[0]!.logs()).toContain("attempt superseded");
  }, 90_000);
});

async function activeRuns(): Promise<number> {
  const text = await (await fetch(`${stack.workers[0]!.url}/metrics`)).text();
  return parseExposition(text).value("threadline_worker_active_runs") ?? Number.NaN;
}
