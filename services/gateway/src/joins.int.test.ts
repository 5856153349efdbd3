import {
  createReducedRun,
  decodeVector,
  ERRORS,
  encodeVector,
  type ReducedRun,
  reduceRun,
  SNAPSHOT_KIND,
  STREAM_ERROR_CODES,
  type ThreadEvent,
  vectorTag,
} from "@threadline/protocol";
import { createEventPublisher, readLog } from "@threadline/redis";
import { openSse, type SseConnection, uniqueId } from "@threadline/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { useAdminRedis } from "./test-support/admin-redis.js";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";
import { connectWs, type WsTestClient } from "./test-support/ws-client.js";

// Issue 18 item 6 on the many-thread routes: the single-thread route's filters and snapshot joins on
// `GET /v1/events?threads=` and WebSocket subscriptions, through the one definition (thread-join.ts).
const t = useAdminRedis();
let gw: TestGateway;
const conns: SseConnection[] = [];
const sockets: WsTestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway(t.redis.url, {
    HEARTBEAT_INTERVAL_MS: "200",
    MAX_STREAMS_PER_SUBJECT: "1000",
  });
});
afterEach(() => {
  for (const c of conns.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await gw?.close();
});

const publisher = () => createEventPublisher(t.client, { logMaxLen: 10_000, logTtlSeconds: 600 });

async function logOf(threadId: string): Promise<ThreadEvent[]> {
  return (await readLog(t.client, threadId, "0", 20_000)).entries.map((e) => JSON.parse(e.json));
}

/** The reducer over a run's whole log, as a client replaying `after=0` builds it. */
async function reduceLog(threadId: string, runId: string): Promise<ReducedRun> {
  return (await logOf(threadId))
    .filter((e) => e.runId === runId)
    .reduce((view, event) => reduceRun(view, event, 0), createReducedRun({ runId }));
}
const withoutLag = ({ lastDeliveryLagMs: _lag, ...rest }: ReducedRun) => rest;
const reduced = (events: ThreadEvent[]) =>
  withoutLag(events.reduce((view, event) => reduceRun(view, event, 0), createReducedRun()));

/** A run in progress: status, a tool call, `tokens` tokens (one in five by a sub-agent), no `done`. */
async function runInProgress(threadId: string, runId: string, tokens: number) {
  const p = publisher();
  const target = { threadId, runId };
  await p.publish(target, { type: "status", content: { state: "running", attempt: 1 } });
  await p.publish(target, {
    type: "delta",
    content: { kind: "tool_call", toolCallId: "c1", name: "word_count", args: { text: "a b" } },
  });
  await p.publish(target, { type: "delta", content: { kind: "tool_result", toolCallId: "c1", result: 2 } });
  for (let i = 0; i < tokens; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, tokens - i) }, (_, j) =>
        p.publish(target, {
          type: "token",
          content: `w${i + j} `,
          ...((i + j) % 5 === 0 ? { agent: ["lead", "helper"] } : {}),
        }),
      ),
    );
  }
}

async function finish(threadId: string, runId: string) {
  const p = publisher();
  await p.publish({ threadId, runId }, { type: "status", content: { state: "completed" } });
  return p.publish({ threadId, runId }, { type: "done", content: { finishReason: "stop" } });
}

describe("multiplexed SSE: filters and snapshot joins (real Redis)", () => {
  const url = (threads: string[], query: Record<string, string> = {}) =>
    `${gw.base}/v1/events?${new URLSearchParams({ threads: threads.join(","), ...query })}`;
  async function open(threads: string[], query: Record<string, string> = {}, lastEventId?: string) {
    const conn = await openSse(url(threads, query), {
      headers: { authorization: `Bearer ${gw.token()}` },
      ...(lastEventId ? { lastEventId } : {}),
    });
    conns.push(conn);
    expect(conn.status, conn.body).toBe(200);
    return conn;
  }
  const ofThread = (conn: SseConnection, threadId: string) =>
    conn.json<ThreadEvent>().filter((e) => e.threadId === threadId);

  it("types= and runId= apply to replay and live of every thread; the vector resumes the filtered stream", async () => {
    const [a, b] = [uniqueId("ma"), uniqueId("mb")];
    await runInProgress(a, "r1", 20);
    await runInProgress(b, "r1", 20);
    const conn = await open([a, b], {
      after: encodeVector(vectorTag([a, b]), ["0", "0"]),
      types: "status,done",
    });
    await conn.waitForEvents(2, 10_000);
    await finish(a, "r1");
    await conn.waitForEvents(4, 10_000);
    for (const thread of [a, b]) {
      const wanted = (await logOf(thread)).filter((e) => e.type === "status" || e.type === "done");
      expect(ofThread(conn, thread)).toEqual(wanted);
    }
    // Resume from the vector of the last frame (a's `done`): only what follows, still filtered.
    const last = conn.lastEventId;
    conn.close();
    await publisher().publish({ threadId: b, runId: "r1" }, { type: "token", content: "not sent" });
    await finish(b, "r1");
    const resumed = await open([a, b], { types: "status,done" }, last);
    await resumed.waitForEvents(2, 10_000);
    expect(resumed.json<ThreadEvent>().map((e) => [e.threadId, e.type])).toEqual([
      [b, "status"],
      [b, "done"],
    ]);

    // runId= (the same filter for every listed thread) and until=done: ends once both runs r2 ended,
    // though types= leaves their `done` out.
    const only = await open([a, b], { runId: "r2", types: "token", until: "done" });
    const p = publisher();
    await p.publish({ threadId: a, runId: "other" }, { type: "token", content: "no" });
    await p.publish({ threadId: a, runId: "r2" }, { type: "token", content: "yes-a" });
    await p.publish({ threadId: b, runId: "r2" }, { type: "token", content: "yes-b" });
    await finish(a, "r2");
    await finish(b, "r2");
    await only.ended;
    expect(only.json<ThreadEvent>().map((e) => e.content)).toEqual(["yes-a", "yes-b"]);
  });

  it("snapshot=1: one snapshot per thread equal to the reducer over its log, then live; resumable without a second snapshot", async () => {
    const [a, b, empty] = [uniqueId("sa"), uniqueId("sb"), uniqueId("se")];
    await runInProgress(a, "r1", 3_000);
    await runInProgress(b, "r9", 40);
    const conn = await open([a, b, empty], { snapshot: "1" });
    await conn.waitForEvents(3, 20_000);
    const snapshots = conn.json<ThreadEvent>();
    expect(snapshots.map((e) => e.type === "delta" && e.content.kind)).toEqual([
      SNAPSHOT_KIND,
      SNAPSHOT_KIND,
      SNAPSHOT_KIND,
    ]);
    const byThread = (thread: string) => snapshots.filter((e) => e.threadId === thread);
    expect(reduced(byThread(a))).toEqual(withoutLag(await reduceLog(a, "r1")));
    expect(reduced(byThread(b))).toEqual(withoutLag(await reduceLog(b, "r9")));
    expect(reduced(byThread(a)).agents.map((x) => x.path)).toEqual([["lead", "helper"]]);
    expect(byThread(empty)[0]).not.toHaveProperty("runId");
    const logBytes = (await readLog(t.client, a, "0", 20_000)).entries.reduce((n, e) => n + e.json.length, 0);
    const snapshotBytes = conn.events.find((e) => JSON.parse(e.data).threadId === a)?.data.length ?? 0;
    console.info(
      `[joins] a late joiner of a 3,000-token run: one snapshot of ${snapshotBytes} bytes instead of ${(await logOf(a)).length} events (${logBytes} bytes) replayed`,
    );
    // The vector after all three: a and b at their snapshot's last folded id, the empty thread at the
    // log's start (its snapshot came, so a resume must not send it again).
    const vector = decodeVector(conn.lastEventId ?? "", [a, b, empty]);
    const tails = [(await logOf(a)).at(-1)?.id, (await logOf(b)).at(-1)?.id, "0"];
    if (conn.events.at(-1)?.id !== undefined) expect(vector).toEqual({ ok: true, positions: tails });

    // Live after the snapshots, then a resume from the last vector: a plain resume, no snapshot.
    const live = await publisher().publish(
      { threadId: empty, runId: "n1" },
      { type: "token", content: "hi" },
    );
    await conn.waitForEvents(4, 10_000);
    expect(conn.json<ThreadEvent>()[3]).toMatchObject({ threadId: empty, id: live.id, content: "hi" });
    const last = conn.lastEventId;
    expect(decodeVector(last ?? "", [a, b, empty])).toEqual({
      ok: true,
      positions: [tails[0], tails[1], live.id],
    });
    conn.close();
    await finish(a, "r1");
    const resumed = await open([a, b, empty], { snapshot: "1" }, last);
    await resumed.waitForEvents(2, 10_000);
    expect(resumed.json<ThreadEvent>().map((e) => [e.threadId, e.type])).toEqual([
      [a, "status"],
      [a, "done"],
    ]);
  }, 120_000);

  it("a vector whose thread has no position yet (empty entry) joins that thread with a snapshot again, the others resume", async () => {
    const [a, b] = [uniqueId("pa"), uniqueId("pb")];
    await runInProgress(a, "r1", 30);
    await runInProgress(b, "r1", 30);
    const bTail = (await logOf(b)).at(-1)?.id as string;
    const vector = encodeVector(vectorTag([a, b]), [undefined, bTail]);
    const later = await publisher().publish(
      { threadId: b, runId: "r1" },
      { type: "token", content: "b-next" },
    );
    const conn = await open([a, b], { snapshot: "1" }, vector);
    await conn.waitForEvents(2, 10_000);
    const [bEvent] = ofThread(conn, b);
    expect(bEvent).toMatchObject({ type: "token", id: later.id });
    const [aSnapshot] = ofThread(conn, a);
    expect(reduced([aSnapshot as ThreadEvent])).toEqual(withoutLag(await reduceLog(a, "r1")));
    // Before a's snapshot arrived, the vector had no position for a; after it, a's last folded id.
    const ids = conn.events.map((e) => decodeVector(e.id ?? "", [a, b]));
    const aIndex = conn.json<ThreadEvent>().findIndex((e) => e.threadId === a);
    const bIndex = conn.json<ThreadEvent>().findIndex((e) => e.threadId === b);
    if (bIndex < aIndex) expect(ids[bIndex]).toEqual({ ok: true, positions: [undefined, later.id] });
    expect(ids.at(-1)).toEqual({ ok: true, positions: [(await logOf(a)).at(-1)?.id, later.id] });
  });

  it("until=done with snapshot=1 ends after the snapshots when every thread's run is over", async () => {
    const [a, b] = [uniqueId("fa"), uniqueId("fb")];
    for (const thread of [a, b]) {
      await runInProgress(thread, "r1", 5);
      await finish(thread, "r1");
    }
    const conn = await open([a, b], { snapshot: "1", until: "done" });
    await conn.ended;
    expect(conn.json<ThreadEvent>().map((e) => [e.type, e.type === "delta" && e.content.kind])).toEqual([
      ["delta", SNAPSHOT_KIND],
      ["delta", SNAPSHOT_KIND],
    ]);
  });

  it.each([
    [{ types: "tokens" }, "types"],
    [{ agent: "a//b" }, "agent"],
    [{ runId: "no spaces" }, "runId"],
    [{ snapshot: "yes" }, "snapshot"],
  ])("answers 400 INVALID_QUERY naming the field for %j", async (query, field) => {
    const res = await fetch(url([uniqueId(), uniqueId()], query as Record<string, string>), {
      headers: { authorization: `Bearer ${gw.token()}` },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { field: string }[] } };
    expect(body.error.code).toBe(ERRORS.INVALID_QUERY.code);
    expect(body.error.details.map((d) => d.field)).toEqual([field]);
  });
});

describe("WebSocket subscriptions: filters and snapshot joins (real Redis)", () => {
  async function connect() {
    const client = await connectWs(`${gw.base.replace("http", "ws")}/v1/ws`, {
      authorization: `Bearer ${gw.token()}`,
    });
    sockets.push(client);
    return client;
  }
  const eventsOf = (client: WsTestClient, threadId: string) =>
    client.frames
      .filter((f) => f.type === "event" && f.event?.threadId === threadId)
      .map((f) => f.event as ThreadEvent);
  const subscribed = (client: WsTestClient, threadId: string) =>
    client.waitFor((c) => c.frames.some((f) => f.type === "subscribed" && f.threadId === threadId));

  it("types, runId and agent filter replay and live alike; resuming after a filtered event's id goes on through the filter", async () => {
    const thread = uniqueId("wf");
    await runInProgress(thread, "r1", 30);
    const client = await connect();
    client.send({ type: "subscribe", threadId: thread, after: "0", types: ["status", "done"], runId: "r1" });
    client.send({ type: "subscribe", threadId: `${thread}-x`, agent: ["lead", "helper"] });
    await client.waitFor((c) => eventsOf(c, thread).length === 1);
    await publisher().publish(
      { threadId: thread, runId: "r2" },
      { type: "status", content: { state: "running" } },
    );
    await finish(thread, "r1");
    await client.waitFor((c) => eventsOf(c, thread).length === 3);
    const wanted = (await logOf(thread)).filter(
      (e) => e.runId === "r1" && (e.type === "status" || e.type === "done"),
    );
    expect(eventsOf(client, thread)).toEqual(wanted);
    expect(client.errors()).toEqual([]);

    // A new socket resumes after the first filtered event's id: the same filtered rest.
    const again = await connect();
    again.send({
      type: "subscribe",
      threadId: thread,
      after: wanted[0]?.id,
      types: ["status", "done"],
      runId: "r1",
    });
    await again.waitFor((c) => eventsOf(c, thread).length === 2);
    expect(eventsOf(again, thread)).toEqual(wanted.slice(1));

    // agent= on the other subscription: only that sub-agent's tokens, live.
    await subscribed(client, `${thread}-x`);
    const p = publisher();
    await p.publish({ threadId: `${thread}-x`, runId: "r1" }, { type: "token", content: "root" });
    await p.publish(
      { threadId: `${thread}-x`, runId: "r1" },
      { type: "token", content: "sub", agent: ["lead", "helper", "x"] },
    );
    await client.waitFor((c) => eventsOf(c, `${thread}-x`).length === 1);
    expect(eventsOf(client, `${thread}-x`)[0]).toMatchObject({ content: "sub" });
  });

  it("snapshot: true joins with one snapshot equal to the reducer over the log, then live; with after it is a plain resume", async () => {
    const thread = uniqueId("ws");
    await runInProgress(thread, "r1", 2_000);
    const client = await connect();
    client.send({ type: "subscribe", threadId: thread, snapshot: true });
    await subscribed(client, thread);
    // Until the snapshot arrives, the resume point is the log's start: resuming there loses nothing.
    expect(client.frames.find((f) => f.type === "subscribed")?.after).toBe("0");
    await client.waitFor((c) => eventsOf(c, thread).length === 1, 20_000);
    const [snapshot] = eventsOf(client, thread);
    expect(snapshot).toMatchObject({ type: "delta", content: { kind: SNAPSHOT_KIND } });
    expect(reduced([snapshot as ThreadEvent])).toEqual(withoutLag(await reduceLog(thread, "r1")));
    expect(snapshot?.id).toBe((await logOf(thread)).at(-1)?.id);

    const done = await finish(thread, "r1");
    await client.waitFor((c) => eventsOf(c, thread).length === 3);
    expect(reduced(eventsOf(client, thread))).toEqual(withoutLag(await reduceLog(thread, "r1")));
    expect(eventsOf(client, thread)[2]?.id).toBe(done.id);

    const resumed = await connect();
    resumed.send({ type: "subscribe", threadId: thread, after: snapshot?.id, snapshot: true });
    await resumed.waitFor((c) => eventsOf(c, thread).length === 2);
    expect(eventsOf(resumed, thread).map((e) => e.type)).toEqual(["status", "done"]);
  }, 60_000);

  it.each([
    [{ types: ["tokens"] }, /types\.0/],
    [{ types: [] }, /types: list at least one event type/],
    [{ types: "status" }, /types/],
    [{ agent: ["a/b"] }, /agent\.0: an agent name has no '\/'/],
    [{ runId: "a b" }, /runId/],
    [{ snapshot: "yes" }, /snapshot/],
  ])(
    "refuses %j with INVALID_MESSAGE naming the field; the socket and its other threads go on",
    async (fields, why) => {
      const [bad, good] = [uniqueId("wb"), uniqueId("wg")];
      const client = await connect();
      client.send({ type: "subscribe", threadId: good, types: ["token"] });
      client.send({ type: "subscribe", threadId: bad, ...fields });
      await client.waitFor((c) => c.errors().length === 1);
      const [error] = client.errors();
      expect(error).toMatchObject({ code: ERRORS.INVALID_MESSAGE.code, threadId: bad });
      expect(error?.message).toMatch(why);
      await subscribed(client, good);
      const sent = await publisher().publish(
        { threadId: good, runId: "r1" },
        { type: "token", content: "ok" },
      );
      await client.waitFor((c) => eventsOf(c, good).length === 1);
      expect(eventsOf(client, good)[0]?.id).toBe(sent.id);
      expect(client.isClosed()).toBe(false);
    },
  );
});

describe("THREAD_DELETED is never filtered (every route)", () => {
  it("a filtered stream that would not deliver it still hears it and ends", async () => {
    const thread = uniqueId("del");
    const sse = await openSse(gw.eventsUrl(thread, { types: "token", runId: "r1" }), {
      headers: { authorization: `Bearer ${gw.token()}` },
    });
    conns.push(sse);
    const ws = await connectWs(`${gw.base.replace("http", "ws")}/v1/ws`, {
      authorization: `Bearer ${gw.token()}`,
    });
    sockets.push(ws);
    ws.send({ type: "subscribe", threadId: thread, types: ["token"], runId: "r1" });
    await ws.waitFor((c) => c.frames.some((f) => f.type === "subscribed"));
    await publisher().publish(
      { threadId: thread },
      {
        type: "error",
        content: { code: STREAM_ERROR_CODES.threadDeleted, message: "deleted", retryable: false },
      },
    );
    await sse.ended;
    expect(sse.json<ThreadEvent>().map((e) => e.type === "error" && e.content.code)).toEqual([
      STREAM_ERROR_CODES.threadDeleted,
    ]);
    await ws.waitFor((c) => c.frames.some((f) => f.type === "event"));
    // The subscription ended: a new subscribe of the same thread is accepted, not "already subscribed".
    ws.send({ type: "subscribe", threadId: thread });
    await ws.waitFor((c) => c.frames.filter((f) => f.type === "subscribed").length === 2);
    expect(ws.errors()).toEqual([]);
  });
});
