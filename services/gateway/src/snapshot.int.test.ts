import {
  createReducedRun,
  type ReducedRun,
  reduceRun,
  SNAPSHOT_KIND,
  type ThreadEvent,
} from "@threadline/protocol";
import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  LOG_START,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import { getTestRedis, openSse, type SseConnection, type TestRedis, uniqueId } from "@threadline/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";

// Issue 18 item 6: `?snapshot=1` joins a run with its state so far, then goes live.
let redis: TestRedis;
let admin: RedisClient;
let gw: TestGateway;
const conns: SseConnection[] = [];

beforeAll(async () => {
  redis = await getTestRedis();
  admin = createRedisClient({ url: redis.url }, { name: "test-admin" });
  gw = await startTestGateway(redis.url, { HEARTBEAT_INTERVAL_MS: "200" });
});
afterEach(() => {
  for (const c of conns.splice(0)) c.close();
});
afterAll(async () => {
  await gw?.close();
  await closeRedisClient(admin);
  await redis.stop();
});

const publisher = () => createEventPublisher(admin, { logMaxLen: 10_000, logTtlSeconds: 600 });

async function open(threadId: string, query: Record<string, string>, headers: Record<string, string> = {}) {
  const conn = await openSse(gw.eventsUrl(threadId, query), {
    headers: { authorization: `Bearer ${gw.token()}`, ...headers },
  });
  conns.push(conn);
  expect(conn.status, conn.body).toBe(200);
  return conn;
}

/** The reducer over the whole log, as a client replaying `after=0` would build it. */
async function reduceLog(threadId: string, runId: string): Promise<ReducedRun> {
  const { entries } = await readLog(admin, threadId, LOG_START, 20_000);
  return entries
    .map((e) => JSON.parse(e.json) as ThreadEvent)
    .filter((e) => e.runId === runId)
    .reduce((view, event) => reduceRun(view, event, 0), createReducedRun({ runId }));
}

const withoutLag = ({ lastDeliveryLagMs: _lag, ...rest }: ReducedRun) => rest;

describe("snapshot=1 (real Redis, in-process gateway)", () => {
  it("a run with 5,000 tokens: one snapshot equal to the reducer over the log, then the live tail, resumable", async () => {
    const threadId = uniqueId("snap");
    const p = publisher();
    const target = { threadId, runId: "r1" };
    await p.publish(target, { type: "status", content: { state: "running", attempt: 1 } });
    await p.publish(target, { type: "delta", content: { kind: "reasoning", text: "Think first." } });
    await p.publish(target, {
      type: "delta",
      content: { kind: "tool_call", toolCallId: "c1", name: "word_count", args: { text: "a b" } },
    });
    await p.publish(target, { type: "delta", content: { kind: "tool_result", toolCallId: "c1", result: 2 } });
    await p.publish(target, { type: "token", content: "sub", agent: ["supervisor", "researcher"] });
    // 5,000 tokens, 200 in flight at a time (one connection keeps them in order).
    for (let i = 0; i < 5_000; i += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, j) => p.publish(target, { type: "token", content: `t${i + j} ` })),
      );
    }
    await p.publish(target, { type: "delta", content: { kind: "progress", usage: { outputTokens: 5000 } } });

    const conn = await open(threadId, { snapshot: "1" });
    await conn.waitForEvents(1, 20_000);
    const [first] = conn.json<ThreadEvent>();
    expect(first?.type).toBe("delta");
    const snapshot = first as Extract<ThreadEvent, { type: "delta" }>;
    expect(snapshot.content.kind).toBe(SNAPSHOT_KIND);
    const expected = await reduceLog(threadId, "r1");
    expect(expected.text.length).toBeGreaterThan(5_000 * 3);
    const run = reduceRun(createReducedRun(), snapshot, 0);
    expect(withoutLag(run)).toEqual(withoutLag(expected));
    expect(run.agents.map((a) => a.path)).toEqual([["supervisor", "researcher"]]);
    expect(run.usage).toEqual({ outputTokens: 5000 });
    // Its id is the last log entry it folded: the resume position.
    expect(conn.events[0]?.id).toBe(expected.lastEventId);
    expect(conn.events[0]?.event).toBe("delta");

    // Then live: nothing of the replay again, only what follows.
    const tail = [
      (await p.publish(target, { type: "token", content: "live1" })).id,
      (await p.publish(target, { type: "done", content: { finishReason: "stop" } })).id,
    ];
    await conn.waitForEvents(3, 10_000);
    expect(conn.events.slice(1).map((e) => e.id)).toEqual(tail);
    expect(
      withoutLag(conn.json<ThreadEvent>().reduce((v, e) => reduceRun(v, e, 0), createReducedRun())),
    ).toEqual(withoutLag(await reduceLog(threadId, "r1")));

    // Reconnecting with Last-Event-ID = the snapshot's id (snapshot=1 still in the URL, as an EventSource
    // would): a plain resume, no second snapshot.
    const resumed = await open(
      threadId,
      { snapshot: "1", until: "done" },
      { "last-event-id": conn.events[0]!.id! },
    );
    await resumed.ended;
    expect(resumed.events.map((e) => e.id)).toEqual(tail);
  }, 120_000);

  it("runId= picks the run, agent= the subtree; an empty thread gets a snapshot without a run; until=done ends on a finished run", async () => {
    const threadId = uniqueId("snap");
    const empty = await open(threadId, { snapshot: "1" });
    await empty.waitForEvents(1, 10_000);
    expect(empty.json()[0]).toMatchObject({ type: "delta", content: { kind: SNAPSHOT_KIND } });
    expect(empty.json()[0]).not.toHaveProperty("runId");
    expect(empty.events[0]?.id).toBeUndefined();

    const p = publisher();
    await p.publish({ threadId, runId: "a" }, { type: "token", content: "first run" });
    await p.publish({ threadId, runId: "a" }, { type: "done", content: { finishReason: "stop" } });
    await p.publish({ threadId, runId: "b" }, { type: "token", content: "second", agent: ["s", "x"] });
    await p.publish({ threadId, runId: "b" }, { type: "token", content: "other", agent: ["s", "y"] });

    const latest = await open(threadId, { snapshot: "1" });
    await latest.waitForEvents(1, 10_000);
    const latestRun = reduceRun(createReducedRun(), latest.json<ThreadEvent>()[0]!, 0);
    expect(latestRun.runId).toBe("b");
    expect(latestRun.agents.map((a) => [a.path.join("/"), a.text])).toEqual([
      ["s/x", "second"],
      ["s/y", "other"],
    ]);

    const subtree = await open(threadId, { snapshot: "1", agent: "s/y", types: "status" });
    await subtree.waitForEvents(1, 10_000);
    const subtreeRun = reduceRun(createReducedRun(), subtree.json<ThreadEvent>()[0]!, 0);
    expect(subtreeRun.agents.map((a) => a.path.join("/"))).toEqual(["s/y"]);

    // The first run is over: its snapshot, then the end of the response.
    const finished = await open(threadId, { snapshot: "1", runId: "a", until: "done" });
    await finished.ended;
    expect(finished.json<ThreadEvent>().map((e) => e.type)).toEqual(["delta"]);
    expect(reduceRun(createReducedRun(), finished.json<ThreadEvent>()[0]!, 0)).toMatchObject({
      runId: "a",
      text: "first run",
      finished: true,
    });
  });

  it("answers 400 INVALID_QUERY naming snapshot for a bad value", async () => {
    const res = await fetch(gw.eventsUrl(uniqueId("snap"), { snapshot: "yes" }), {
      headers: { authorization: `Bearer ${gw.token()}` },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { field: string }[] } };
    expect(body.error.code).toBe("INVALID_QUERY");
    expect(body.error.details.map((d) => d.field)).toEqual(["snapshot"]);
  });
});
