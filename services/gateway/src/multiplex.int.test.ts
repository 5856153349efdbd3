import { decodeVector, encodeVector, STREAM_ERROR_CODES, vectorTag } from "@threadline/protocol";
import { createEventPublisher, readLog } from "@threadline/redis";
import { openSse, type SseConnection, uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { pubsubClients, settle, useAdminRedis } from "./test-support/admin-redis.js";
import { useTestGateway } from "./test-support/test-gateway.js";

const t = useAdminRedis();

/** The data lines a connection received for `threadId` (every event's JSON carries its threadId). */
const dataOf = (conn: SseConnection, threadId: string) =>
  conn.events.filter((e) => JSON.parse(e.data).threadId === threadId).map((e) => e.data);

async function logOf(threadId: string) {
  return (await readLog(t.client, threadId, "0", 10_000)).entries.map((e) => e.json);
}

describe.each(["dedicated", "shared"] as const)("multiplexed SSE (%s subscribers, real Redis)", (mode) => {
  const fixture = useTestGateway(() => t.redis.url, {
    SUBSCRIBER_MODE: mode,
    HEARTBEAT_INTERVAL_MS: "200",
    MAX_THREADS_PER_CONNECTION: "8",
    MAX_STREAMS_PER_SUBJECT: "1000",
  });
  const publisher = () => createEventPublisher(t.client, { logMaxLen: 10_000, logTtlSeconds: 600 });

  const url = (threads: string[], query: Record<string, string> = {}) =>
    `${fixture.gw.base}/v1/events?${new URLSearchParams({ threads: threads.join(","), ...query })}`;

  async function open(
    threads: string[],
    query: Record<string, string> = {},
    lastEventId?: string,
    token?: string,
  ) {
    const conn = await openSse(url(threads, query), {
      headers: { authorization: `Bearer ${token ?? fixture.gw.token()}` },
      ...(lastEventId ? { lastEventId } : {}),
    });
    fixture.conns.push(conn);
    return conn;
  }

  async function run(threadId: string, tokens: number, finish = true) {
    const p = publisher();
    for (let i = 1; i <= tokens; i++)
      await p.publish({ threadId, runId: "r1" }, { type: "token", content: `t${i}` });
    if (finish)
      await p.publish({ threadId, runId: "r1" }, { type: "done", content: { finishReason: "stop" } });
  }

  it("carries concurrent runs of several threads on one connection: each thread's events equal its log", async () => {
    const threads = Array.from({ length: 6 }, () => uniqueId());
    const conn = await open(threads, { until: "done" });
    expect(conn.status).toBe(200);
    expect(conn.headers["content-type"]).toBe("text/event-stream");
    expect(conn.headers["threadline-protocol"]).toBe("2");
    await Promise.all(threads.map((t) => run(t, 40)));
    await conn.ended;
    for (const t of threads) expect(dataOf(conn, t)).toEqual(await logOf(t));
    // Every id is a vector for this list whose thread position is the event's own log id.
    for (const e of conn.events) {
      const { threadId, id } = JSON.parse(e.data);
      const decoded = decodeVector(e.id ?? "", threads);
      expect(decoded.ok && decoded.positions[threads.indexOf(threadId)]).toBe(id);
    }
  });

  it("resumes every thread from the position vector (Last-Event-ID and ?after), live-only threads included", async () => {
    const [a, b, c] = [uniqueId(), uniqueId(), uniqueId()];
    await run(a, 5, false);
    const first = await open([a, b, c]);
    await run(a, 3, false);
    await run(b, 2, false);
    await first.waitForEvents(5);
    const vector = first.lastEventId as string;
    first.close();
    // Published while disconnected, including on c which never delivered anything on `first`.
    await Promise.all([run(a, 2), run(b, 2), run(c, 2)]);
    for (const resumed of [
      await open([a, b, c], { until: "done" }, vector),
      await open([a, b, c], { after: vector, until: "done" }),
    ]) {
      await resumed.ended;
      expect(dataOf(resumed, a)).toEqual((await logOf(a)).slice(8));
      expect(dataOf(resumed, b)).toEqual((await logOf(b)).slice(2));
      expect(dataOf(resumed, c)).toEqual(await logOf(c));
    }
  });

  it("takes an empty position as live only for that thread (the SDK's SSE fallback adding a thread)", async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    await run(a, 3, false);
    await run(b, 3, false);
    const aAt = (await readLog(t.client, a, "0", 10)).entries[0]!.id;
    const conn = await open([a, b], { until: "done" }, encodeVector(vectorTag([a, b]), [aAt, undefined]));
    await conn.waitForEvents(2);
    await Promise.all([run(a, 1), run(b, 1)]);
    await conn.ended;
    expect(dataOf(conn, a)).toEqual((await logOf(a)).slice(1));
    // b's three earlier tokens are not replayed: it joined live, after its tail.
    expect(dataOf(conn, b)).toEqual((await logOf(b)).slice(3));
    const last = decodeVector(conn.lastEventId as string, [a, b]);
    expect(last).toEqual({
      ok: true,
      positions: [(await readLog(t.client, a, "0", 10)).entries.at(-1)!.id, expect.any(String)],
    });
  });

  it("says REPLAY_TRUNCATED for the one thread whose position is gone, and resumes the others", async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    await run(a, 2, false);
    await run(b, 2, false);
    const vector = encodeVector(vectorTag([a, b]), [
      "1-0",
      (await readLog(t.client, b, "0", 10)).entries[0]!.id,
    ]);
    const conn = await open([a, b], {}, vector);
    await conn.waitForEvents(4);
    // A gateway notice, not the thread's own error: named stream-error (stream protocol 2).
    expect(conn.events.filter((e) => e.event === "stream-error")).toHaveLength(1);
    const errors = conn.json().filter((e) => e.type === "error");
    expect(errors).toEqual([
      expect.objectContaining({
        threadId: a,
        content: expect.objectContaining({ code: "REPLAY_TRUNCATED" }),
      }),
    ]);
    expect(dataOf(conn, a).slice(1)).toEqual(await logOf(a));
    expect(dataOf(conn, b)).toEqual((await logOf(b)).slice(1));
  });

  it("loses nothing when Redis kills the subscriber connection, on every thread", {
    timeout: 20_000,
  }, async () => {
    const threads = [uniqueId(), uniqueId(), uniqueId()];
    const conn = await open(threads, { until: "done" });
    const before = await fixture.gw.metric("threadline_gateway_resubscribes_total");
    for (let kill = 1; kill <= 3; kill++) {
      // Killed while every thread is publishing: what goes out meanwhile can only come from the log.
      const runs = threads.map((t) => run(t, 50, kill === 3));
      await t.client.call("CLIENT", "KILL", "TYPE", "pubsub");
      await Promise.all(runs);
      // Each kill restores every thread of the connection (one backfill per thread).
      await expect
        .poll(
          () => fixture.gw.metric("threadline_gateway_resubscribes_total"),
          settle("every thread to resubscribe"),
        )
        .toBeGreaterThanOrEqual(before + kill * threads.length);
    }
    await conn.ended;
    for (const t of threads) expect(dataOf(conn, t)).toEqual(await logOf(t));
  });

  it("sends heartbeats and ends with until=done only once every thread is done", async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    const conn = await open([a, b], { until: "done", format: "message" });
    await conn.waitFor((c) => c.comments.filter((x) => x === "keepalive").length >= 1, 3_000);
    await run(a, 1);
    await conn.waitForEvents(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(conn.closed).toBe(false);
    await run(b, 1);
    await conn.ended;
    expect(conn.events).toHaveLength(4);
    // ?format=message: no event: lines, so EventSource's onmessage sees every frame.
    expect(conn.events.map((e) => e.event)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("ends a deleted thread's part after THREAD_DELETED (as the single-thread route ends), and the connection with its last thread", async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    const p = publisher();
    // What DELETE /v1/threads/:id publishes before it removes the thread.
    const deleteThread = (threadId: string) =>
      p.publish(
        { threadId },
        {
          type: "error",
          content: { code: STREAM_ERROR_CODES.threadDeleted, message: "deleted", retryable: false },
        },
      );
    const conn = await open([a, b]);
    await run(a, 1, false);
    await deleteThread(a);
    // A new thread under the same id is not this connection's business any more.
    await run(a, 1, false);
    await run(b, 2, false);
    await conn.waitFor((c) => dataOf(c, b).length === 2);
    expect(conn.closed).toBe(false);
    const deletedA = (await logOf(a)).slice(0, 2);
    expect(dataOf(conn, a)).toEqual(deletedA);
    expect(
      conn.events.find((e) => JSON.parse(e.data).threadId === a && e.event === "run-error"),
    ).toBeDefined();

    await deleteThread(b);
    await conn.ended;
    expect(dataOf(conn, a)).toEqual(deletedA);
    expect(dataOf(conn, b)).toEqual(await logOf(b));

    // With until=done a deleted thread counts as done; a replayed deletion ends that thread's part too.
    const again = await open([a, b], { after: encodeVector(vectorTag([a, b]), ["0", "0"]), until: "done" });
    await again.ended;
    expect(dataOf(again, a)).toEqual(deletedA);
    expect(dataOf(again, b)).toEqual(await logOf(b));
  });

  it("answers 400 for too many, malformed or repeated threads and a foreign vector; 403 names the first refused", async () => {
    const body = async (u: string, headers: Record<string, string> = {}) => {
      const r = await fetch(u, { headers: { authorization: `Bearer ${fixture.gw.token()}`, ...headers } });
      return {
        status: r.status,
        error: ((await r.json()) as { error: { code: string; message: string } }).error,
      };
    };
    const nine = Array.from({ length: 9 }, () => uniqueId());
    const tooMany = await body(url(nine));
    expect(tooMany).toMatchObject({ status: 400, error: { code: "TOO_MANY_THREADS" } });
    expect(tooMany.error.message).toMatch(/limit is 8 \(MAX_THREADS_PER_CONNECTION\)/);
    expect(await body(`${fixture.gw.base}/v1/events`)).toMatchObject({
      status: 400,
      error: { code: "INVALID_QUERY" },
    });
    expect(await body(url(["ok", "bad id!"]))).toMatchObject({
      status: 400,
      error: { code: "INVALID_THREAD_ID" },
    });
    expect(await body(url(["x1", "x1"]))).toMatchObject({ status: 400, error: { code: "INVALID_QUERY" } });
    const foreign = encodeVector(vectorTag(["p", "q"]), ["0", "0"]);
    expect(await body(url(["q", "p"]), { "last-event-id": foreign })).toMatchObject({
      status: 400,
      error: { code: "INVALID_LAST_EVENT_ID" },
    });

    const [mine, theirs, alsoTheirs] = [uniqueId(), uniqueId(), uniqueId()];
    const token = fixture.gw.token({ threads: [mine] });
    const refused = await fetch(url([mine, theirs, alsoTheirs]), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(403);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("FORBIDDEN");
    expect(error.message).toContain(theirs);
    expect(error.message).not.toContain(alsoTheirs);
    expect((await fetch(url([mine]))).status).toBe(401);
  });

  if (mode === "dedicated")
    it("uses ONE Redis subscriber connection per multiplexed connection", async () => {
      await expect.poll(() => pubsubClients(t.client), settle("earlier subscribers to close")).toBe(0);
      const a = await open(Array.from({ length: 8 }, () => uniqueId()));
      const b = await open(Array.from({ length: 5 }, () => uniqueId()));
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(await pubsubClients(t.client)).toBe(2);
      a.close();
      b.close();
      await expect
        .poll(() => pubsubClients(t.client), settle("subscribers closed with their connections"))
        .toBe(0);
    });
});
