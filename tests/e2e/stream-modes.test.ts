import type { EventDraft } from "@threadline/protocol";
import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { openSse, type SseConnection, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpJson } from "../support/http-json.js";
import { type Stack, startStack } from "../support/stack.js";

// Issue 18 item 6: filtered joins, against the real gateway, API and worker processes.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

interface Ev {
  type: string;
  runId?: string;
  seq?: number;
  id?: string;
}

const SUB = "modes";

async function stream(threadId: string, query: string, headers: Record<string, string> = {}) {
  const conn = await openSse(`${stack.gateway.url}/v1/threads/${threadId}/events?${query}`, {
    headers: { authorization: stack.bearer(SUB, { threads: [threadId] }), ...headers },
  });
  expect(conn.status, conn.body).toBe(200);
  return conn;
}

async function ended(conn: SseConnection) {
  await conn.ended;
  return conn;
}

describe("filtered streams (?types=, ?runId=)", () => {
  it("a 64-token demo run with types=status,done streams only those, live and replayed, and resumes by Last-Event-ID", async () => {
    const threadId = uniqueId("modes");
    const live = await stream(threadId, "types=status,done&until=done");
    const created = await httpJson<{ runId: string }>(`${stack.api.url}/v1/threads/${threadId}/runs`, {
      authorization: stack.bearer(SUB),
      body: { input: { prompt: "Tell me about filtered streams.", maxTokens: 64, tokensPerSecond: 400 } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const { runId } = created.body;
    await ended(live);

    const all = (await ended(await stream(threadId, "after=0&until=done"))).json<Ev>();
    // The worker coalesces tokens, so 64 tokens arrive in fewer events; enough to filter out.
    expect(all.filter((e) => e.type === "token").length).toBeGreaterThan(4);
    const expected = all.filter((e) => e.type === "status" || e.type === "done");
    expect(expected.length).toBeGreaterThanOrEqual(3);

    const liveEvents = live.json<Ev>();
    expect(liveEvents.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    // Each SSE id is the delivered event's log id.
    expect(live.events.map((e) => e.id)).toEqual(expected.map((e) => e.id));

    const replay = await ended(await stream(threadId, `after=0&types=status,done&runId=${runId}&until=done`));
    expect(replay.json<Ev>()).toEqual(expected);

    // Resume the filtered stream after its first event: the rest of the filtered events, nothing else.
    const resumed = await ended(
      await stream(threadId, "types=status,done&until=done", { "last-event-id": expected[0]!.id! }),
    );
    expect(resumed.json<Ev>()).toEqual(expected.slice(1));

    // Only the tokens, from the middle of the run.
    const tokens = all.filter((e) => e.type === "token");
    const half = Math.floor(tokens.length / 2);
    const tail = await stream(threadId, `after=${tokens[half - 1]!.id}&types=token`);
    await tail.waitForEvents(tokens.length - half, 10_000);
    expect(tail.json<Ev>()).toEqual(tokens.slice(half));
    tail.close();

    // until=done ends at the followed run's done even when done itself is filtered out.
    const noDone = await ended(await stream(threadId, `after=0&types=token&runId=${runId}&until=done`));
    expect(noDone.json<Ev>()).toEqual(tokens);

    // Another run's id: nothing of this run (the replay is over once a heartbeat follows it).
    const other = await stream(threadId, "after=0&runId=some-other-run");
    await other.waitFor((c) => c.comments.length > 0, 10_000);
    other.close();
    expect(other.events).toEqual([]);
  }, 60_000);

  it("agent= streams that agent's events and its sub-agents', live and replayed, with agent paths intact", async () => {
    const threadId = uniqueId("modes");
    const redis = createRedisClient({ url: stack.redisUrl }, { name: "modes-test" });
    try {
      const publisher = createEventPublisher(redis, { logMaxLen: 1000, logTtlSeconds: 600 });
      const drafts: EventDraft[] = [
        { type: "status", content: { state: "running" } },
        { type: "token", content: "plan", agent: ["supervisor"] },
        { type: "token", content: "found", agent: ["supervisor", "researcher"] },
        { type: "token", content: "deep", agent: ["supervisor", "researcher", "searcher"] },
        { type: "token", content: "wrote", agent: ["supervisor", "writer"] },
        { type: "done", content: { finishReason: "stop" } },
      ];
      const live = await stream(threadId, "agent=supervisor/researcher");
      for (const draft of drafts) await publisher.publish({ threadId, runId: "r1" }, draft);
      await live.waitForEvents(2, 10_000);
      const replay = await stream(threadId, "after=0&agent=supervisor/researcher");
      await replay.waitForEvents(2, 10_000);
      await replay.waitFor((c) => c.comments.length > 0, 10_000);
      for (const conn of [live, replay]) {
        conn.close();
        expect(conn.json<{ content: string; agent: string[] }>().map((e) => [e.content, e.agent])).toEqual([
          ["found", ["supervisor", "researcher"]],
          ["deep", ["supervisor", "researcher", "searcher"]],
        ]);
      }
    } finally {
      await closeRedisClient(redis);
    }
  });

  it("answers 400 INVALID_QUERY naming the field for an unknown type, a bad run id or agent path", async () => {
    const threadId = uniqueId("modes");
    for (const [query, field] of [
      ["types=status,tokens", "types"],
      ["types=", "types"],
      ["runId=a%20b", "runId"],
      ["agent=supervisor//researcher", "agent"],
    ] as const) {
      const res = await fetch(`${stack.gateway.url}/v1/threads/${threadId}/events?${query}`, {
        headers: { authorization: stack.bearer(SUB, { threads: [threadId] }) },
      });
      const body = (await res.json()) as { error: { code: string; details?: { field: string }[] } };
      expect(res.status, query).toBe(400);
      expect(body.error.code).toBe("INVALID_QUERY");
      expect(body.error.details?.map((d) => d.field)).toEqual([field]);
    }
  });
});
