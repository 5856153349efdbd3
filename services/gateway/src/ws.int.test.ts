import { encodeWsEvent } from "@threadline/protocol";
import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  createRunLifecycle,
  createRunRecords,
  createRunsQueue,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";
import { connectWs, openWs, type WsTestClient } from "./test-support/ws-client.js";

let redis: TestRedis;
let admin: RedisClient;
beforeAll(async () => {
  redis = await getTestRedis();
  admin = createRedisClient({ url: redis.url }, { name: "test-admin" });
});
afterAll(async () => {
  await closeRedisClient(admin);
  await redis.stop();
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pubsubClients = async () =>
  String(await admin.call("CLIENT", "LIST", "TYPE", "pubsub"))
    .split("\n")
    .filter((l) => l.trim() !== "").length;

/** The thread's log as the frames the WebSocket must carry, byte for byte. */
async function logFrames(threadId: string) {
  return (await readLog(admin, threadId, "0", 10_000)).entries.map((e) => encodeWsEvent(e.json));
}

const publisher = () => createEventPublisher(admin, { logMaxLen: 10_000, logTtlSeconds: 600 });

async function run(threadId: string, tokens: number, finish = true, content = "t", runId = "r1") {
  const p = publisher();
  for (let i = 1; i <= tokens; i++)
    await p.publish({ threadId, runId }, { type: "token", content: `${content}${i}` });
  if (finish) await p.publish({ threadId, runId }, { type: "done", content: { finishReason: "stop" } });
}

const wsUrl = (gw: TestGateway, query = "") => `${gw.base.replace("http", "ws")}/v1/ws${query}`;

describe.each(["dedicated", "shared"] as const)(
  "WebSocket transport (%s subscribers, real Redis)",
  (mode) => {
    let gw: TestGateway;
    const clients: WsTestClient[] = [];

    beforeAll(async () => {
      gw = await startTestGateway(redis.url, {
        SUBSCRIBER_MODE: mode,
        HEARTBEAT_INTERVAL_MS: "200",
        MAX_THREADS_PER_CONNECTION: "8",
        MAX_STREAMS_PER_SUBJECT: "1000",
      });
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });
    afterAll(async () => {
      await gw.close();
    });

    async function connect(token = gw.token()) {
      const client = await connectWs(wsUrl(gw), { authorization: `Bearer ${token}` });
      clients.push(client);
      return client;
    }
    async function subscribe(
      client: WsTestClient,
      threads: string[],
      after?: (t: string) => string | undefined,
    ) {
      for (const threadId of threads) {
        const from = after?.(threadId);
        client.send({ type: "subscribe", threadId, ...(from === undefined ? {} : { after: from }) });
      }
      await client.waitFor((c) =>
        threads.every((t) => c.frames.some((f) => f.type === "subscribed" && f.threadId === t)),
      );
    }
    const doneCount = (c: WsTestClient, threads: string[]) =>
      threads.every((t) =>
        c.frames.some((f) => f.type === "event" && f.event?.threadId === t && f.event.type === "done"),
      );

    it("carries concurrent runs of several threads on one socket: each thread's frames equal its log, byte for byte", async () => {
      const threads = Array.from({ length: 6 }, () => uniqueId());
      const client = await connect();
      await subscribe(client, threads);
      await Promise.all(threads.map((t) => run(t, 40)));
      await client.waitFor((c) => doneCount(c, threads));
      for (const t of threads) expect(client.eventsOf(t)).toEqual(await logFrames(t));
      expect(client.errors()).toEqual([]);
    });

    it("resumes every thread after a dropped socket from the last id (or the subscribed position): nothing lost or doubled", async () => {
      const [a, b, c] = [uniqueId(), uniqueId(), uniqueId()];
      await run(a, 5, false);
      const first = await connect();
      await subscribe(first, [a, b, c]);
      await run(a, 3, false);
      await run(b, 2, false);
      await first.waitFor((x) => x.eventsOf(a).length === 3 && x.eventsOf(b).length === 2);
      // Where a client stands per thread: the last event id, else the `after` of `subscribed`.
      const position = (t: string) =>
        first.frames.filter((f) => f.type === "event" && f.event?.threadId === t).at(-1)?.event?.id ??
        first.frames.find((f) => f.type === "subscribed" && f.threadId === t)?.after;
      const positions = Object.fromEntries([a, b, c].map((t) => [t, position(t)]));
      first.close();
      // Published while disconnected, including on c which delivered nothing on `first`.
      await Promise.all([run(a, 2), run(b, 2), run(c, 2)]);
      const second = await connect();
      await subscribe(second, [a, b, c], (t) => positions[t]);
      await second.waitFor((x) => doneCount(x, [a, b, c]));
      expect(second.eventsOf(a)).toEqual((await logFrames(a)).slice(8));
      expect(second.eventsOf(b)).toEqual((await logFrames(b)).slice(2));
      expect(second.eventsOf(c)).toEqual(await logFrames(c));
      expect(first.eventsOf(a).concat(second.eventsOf(a))).toEqual((await logFrames(a)).slice(5));
    });

    it("signals REPLAY_TRUNCATED for the one thread whose position is gone, and resumes the others", async () => {
      const [a, b] = [uniqueId(), uniqueId()];
      await run(a, 2, false);
      await run(b, 2, false);
      const client = await connect();
      const firstOfB = (await readLog(admin, b, "0", 10)).entries[0]!.id;
      await subscribe(client, [a, b], (t) => (t === a ? "1-0" : firstOfB));
      await client.waitFor((x) => x.eventsOf(a).length === 2 && x.eventsOf(b).length === 1);
      expect(client.errors()).toEqual([
        expect.objectContaining({ type: "error", code: "REPLAY_TRUNCATED", threadId: a, after: "1-0" }),
      ]);
      expect(client.eventsOf(a)).toEqual(await logFrames(a));
      expect(client.eventsOf(b)).toEqual((await logFrames(b)).slice(1));
    });

    it("loses nothing when Redis kills the subscriber connection, on every thread", {
      timeout: 30_000,
    }, async () => {
      const threads = [uniqueId(), uniqueId(), uniqueId()];
      const client = await connect();
      await subscribe(client, threads);
      const before = await gw.metric("threadline_gateway_resubscribes_total");
      for (let kill = 1; kill <= 3; kill++) {
        const runs = threads.map((t) => run(t, 50, kill === 3, `k${kill}-`));
        await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
        await Promise.all(runs);
        await until(
          async () =>
            (await gw.metric("threadline_gateway_resubscribes_total")) >= before + kill * threads.length,
          "every thread to resubscribe",
        );
      }
      await client.waitFor((c) => doneCount(c, threads), 15_000);
      for (const t of threads) expect(client.eventsOf(t)).toEqual(await logFrames(t));
    });

    it("answers bad messages with error frames (catalog codes) and keeps the socket usable", async () => {
      const client = await connect();
      const [t1, t2] = [uniqueId(), uniqueId()];
      client.send("not json");
      client.send({ type: "subscribe" });
      client.send({ type: "subscribe", threadId: "bad id!" });
      client.send({ type: "subscribe", threadId: t1, after: "yesterday" });
      client.send({ type: "hello", threadId: t1 });
      client.send({ type: "subscribe", threadId: t1, extra: 1 });
      client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
      await client.waitFor((c) => c.errors().length === 7);
      expect(client.errors().map((e) => e.code)).toEqual(Array(7).fill("INVALID_MESSAGE"));
      // The field at fault is named; the valid thread id is echoed so a client can route the error.
      expect(client.errors()[3]).toMatchObject({ threadId: t1, message: expect.stringMatching(/after/) });
      expect(client.errors()[2]?.threadId).toBeUndefined();

      await subscribe(client, [t1]);
      client.send({ type: "subscribe", threadId: t1 });
      await client.waitFor((c) => c.errors().length === 8);
      expect(client.errors()[7]).toMatchObject({ code: "INVALID_MESSAGE", threadId: t1 });
      // Still subscribed exactly once: each event arrives once.
      await run(t1, 2);
      await client.waitFor((c) => doneCount(c, [t1]));
      expect(client.eventsOf(t1)).toEqual(await logFrames(t1));
      // Unsubscribe stops the thread, idempotently; the socket goes on with the others.
      client.send({ type: "unsubscribe", threadId: t1 });
      client.send({ type: "unsubscribe", threadId: t1 });
      await subscribe(client, [t2]);
      await run(t1, 1, true, "t", "r2");
      await run(t2, 1);
      await client.waitFor((c) => doneCount(c, [t2]));
      expect(client.eventsOf(t1)).toHaveLength(3);
      expect(client.errors()).toHaveLength(8);
    });

    it("refuses a thread past MAX_THREADS_PER_CONNECTION and a thread the token may not read, per thread", async () => {
      const client = await connect();
      const eight = Array.from({ length: 8 }, () => uniqueId());
      await subscribe(client, eight);
      const ninth = uniqueId();
      client.send({ type: "subscribe", threadId: ninth });
      await client.waitFor((c) => c.errors().length === 1);
      expect(client.errors()[0]).toMatchObject({ code: "TOO_MANY_THREADS", threadId: ninth });
      expect(client.errors()[0]?.message).toMatch(/limit is 8 \(MAX_THREADS_PER_CONNECTION\)/);

      const [mine, theirs] = [uniqueId(), uniqueId()];
      const scoped = await connect(gw.token({ threads: [mine] }));
      scoped.send({ type: "subscribe", threadId: theirs });
      await subscribe(scoped, [mine]);
      await scoped.waitFor((c) => c.errors().length === 1);
      expect(scoped.errors()[0]).toMatchObject({ code: "FORBIDDEN", threadId: theirs });
      expect(scoped.frames.some((f) => f.type === "subscribed" && f.threadId === theirs)).toBe(false);
    });

    it("refuses the upgrade without a valid token (401), accepts ?access_token= and never logs it", async () => {
      const missing = await openWs(wsUrl(gw));
      expect(missing).toMatchObject({ ok: false, status: 401, body: { error: { code: "TOKEN_MISSING" } } });
      const bad = await openWs(wsUrl(gw), { authorization: "Bearer nope" });
      expect(bad).toMatchObject({ ok: false, status: 401, body: { error: { code: "TOKEN_INVALID" } } });
      const expired = await openWs(wsUrl(gw), {
        authorization: `Bearer ${gw.token({ ttlSeconds: -60 })}`,
      });
      expect(expired).toMatchObject({ ok: false, status: 401, body: { error: { code: "TOKEN_EXPIRED" } } });

      const token = gw.token({ sub: "query-token" });
      const viaQuery = await connectWs(wsUrl(gw, `?access_token=${token}`));
      clients.push(viaQuery);
      const t = uniqueId();
      await subscribe(viaQuery, [t]);
      await run(t, 1);
      await viaQuery.waitFor((c) => doneCount(c, [t]));
      expect(gw.rawLogs.some((line) => line.includes(token))).toBe(false);
    });

    it("refresh: a token that drops one thread ends exactly that thread (FORBIDDEN); a bad token changes nothing", async () => {
      const [a, b] = [uniqueId(), uniqueId()];
      const client = await connect(gw.token({ sub: "refresher", threads: [a, b] }));
      await subscribe(client, [a, b]);
      client.send({ type: "refresh", token: "not-a-jwt" });
      await client.waitFor((c) => c.errors().length === 1);
      expect(client.errors()[0]).toMatchObject({ code: "TOKEN_INVALID" });
      expect(client.errors()[0]?.threadId).toBeUndefined();
      client.send({ type: "refresh", token: gw.token({ sub: "someone-else", threads: [a, b] }) });
      await client.waitFor((c) => c.errors().length === 2);
      expect(client.errors()[1]).toMatchObject({ code: "FORBIDDEN" });

      client.send({ type: "refresh", token: gw.token({ sub: "refresher", threads: [a] }) });
      await client.waitFor((c) => c.errors().length === 3);
      expect(client.errors()[2]).toMatchObject({ code: "FORBIDDEN", threadId: b });
      await run(b, 2);
      await run(a, 2);
      await client.waitFor((c) => doneCount(c, [a]));
      expect(client.eventsOf(a)).toEqual(await logFrames(a));
      expect(client.eventsOf(b)).toEqual([]);
    });

    it("cancels a queued run over the socket (authorized as the API's cancel); RUN_NOT_FOUND / FORBIDDEN otherwise", async () => {
      const threadId = uniqueId();
      const runId = `run-${uniqueId()}`;
      const queue = createRunsQueue({ url: redis.url, queuePrefix: gw.config.redis.queuePrefix });
      try {
        const lifecycle = createRunLifecycle(admin, { logMaxLen: 1_000, logTtlSeconds: 600 });
        await lifecycle.start({ threadId, runId, agent: "demo", input: {} });
        await queue.enqueue({ threadId, runId, agent: "demo", input: {}, owner: "tester" });
        const client = await connect();
        await subscribe(client, [threadId], () => "0");
        client.send({ type: "cancel", threadId, runId });
        await client.waitFor((c) => doneCount(c, [threadId]));
        const done = client.frames.find((f) => f.event?.type === "done");
        expect(done?.event?.content).toMatchObject({ finishReason: "cancelled" });
        expect((await createRunRecords(admin).get(threadId, runId))?.status).toBe("cancelled");
        expect(await queue.queue.getJob(runId)).toBeUndefined();

        client.send({ type: "cancel", threadId, runId: "no-such-run" });
        await client.waitFor((c) => c.errors().length === 1);
        client.send({ type: "cancel", threadId, runId });
        await client.waitFor((c) => c.errors().length === 2);
        expect(client.errors()).toEqual([
          expect.objectContaining({ code: "RUN_NOT_FOUND", threadId }),
          expect.objectContaining({ code: "RUN_FINISHED", threadId }),
        ]);
        const stranger = await connect(gw.token({ sub: "stranger", threads: ["elsewhere"] }));
        stranger.send({ type: "cancel", threadId, runId });
        await stranger.waitFor((c) => c.errors().length === 1);
        expect(stranger.errors()[0]).toMatchObject({ code: "FORBIDDEN", threadId });
      } finally {
        await queue.close();
      }
    });

    if (mode === "dedicated")
      it("uses ONE Redis subscriber connection per WebSocket, closed with it", async () => {
        await until(async () => (await pubsubClients()) === 0, "earlier subscribers to close");
        const a = await connect();
        const b = await connect();
        await subscribe(
          a,
          Array.from({ length: 8 }, () => uniqueId()),
        );
        await subscribe(
          b,
          Array.from({ length: 5 }, () => uniqueId()),
        );
        expect(await pubsubClients()).toBe(2);
        a.close();
        b.close();
        await until(async () => (await pubsubClients()) === 0, "subscribers closed with their sockets");
      });
  },
);

describe("WebSocket limits, heartbeats and cut-offs", () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it("counts a socket against MAX_STREAMS_PER_SUBJECT (429) and releases the slot when it closes", async () => {
    gw = await startTestGateway(redis.url, { MAX_STREAMS_PER_SUBJECT: "2" });
    const headers = { authorization: `Bearer ${gw.token({ sub: "limited" })}` };
    const one = await connectWs(wsUrl(gw), headers);
    const two = await connectWs(wsUrl(gw), headers);
    const three = await openWs(wsUrl(gw), headers);
    expect(three).toMatchObject({ ok: false, status: 429, body: { error: { code: "TOO_MANY_STREAMS" } } });
    one.close();
    await one.closed;
    await until(async () => (await openWs(wsUrl(gw!), headers)).ok, "the slot to be released");
    two.close();
  });

  it("closes a half-open peer that stops answering pings", async () => {
    gw = await startTestGateway(redis.url, { HEARTBEAT_INTERVAL_MS: "150" });
    const client = await connectWs(wsUrl(gw), { authorization: `Bearer ${gw.token()}` });
    const opened = await gw.metric("threadline_gateway_open_streams");
    expect(opened).toBe(1);
    // Answering pings for a while keeps it open.
    await new Promise((r) => setTimeout(r, 600));
    expect(client.isClosed()).toBe(false);
    client.pause();
    await until(
      async () => (await gw!.metric("threadline_gateway_open_streams")) === 0,
      "the gateway to drop it",
    );
    client.close();
  });

  it("cuts off a socket that stops reading with close 4008 (SLOW_CONSUMER); a reader gets everything", {
    timeout: 30_000,
  }, async () => {
    gw = await startTestGateway(redis.url, {
      SSE_MAX_BUFFER_BYTES: String(64 * 1024),
      HEARTBEAT_INTERVAL_MS: "60000",
    });
    const headers = { authorization: `Bearer ${gw.token()}` };
    const threadId = uniqueId();
    const stalled = await connectWs(wsUrl(gw), headers);
    const reader = await connectWs(wsUrl(gw), headers);
    for (const c of [stalled, reader]) {
      c.send({ type: "subscribe", threadId });
      await c.waitFor((x) => x.frames.some((f) => f.type === "subscribed"));
    }
    stalled.pause();
    const p = publisher();
    const big = "x".repeat(4 * 1024);
    // Publish until the gateway cuts the stalled socket off; it then reads again and finds the close.
    let published = 0;
    while ((await gw.metric("threadline_gateway_slow_consumer_cutoffs_total")) === 0) {
      if (published >= 5_000) throw new Error("the stalled socket was never cut off");
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          p.publish({ threadId, runId: "r" }, { type: "token", content: `${published + j}${big}` }),
        ),
      );
      published += 50;
    }
    stalled.resume();
    expect(await stalled.closed).toEqual({ code: 4008, reason: "SLOW_CONSUMER" });
    expect(stalled.eventsOf(threadId).length).toBeLessThan(published);
    await reader.waitFor((c) => c.eventsOf(threadId).length === published, 20_000);
    expect(reader.eventsOf(threadId)).toEqual(await logFrames(threadId));
    reader.close();
  });

  it("ends every socket with 1001 on shutdown", async () => {
    gw = await startTestGateway(redis.url);
    const client = await connectWs(wsUrl(gw), { authorization: `Bearer ${gw.token()}` });
    client.send({ type: "subscribe", threadId: uniqueId() });
    await client.waitFor((c) => c.frames.some((f) => f.type === "subscribed"));
    const closing = gw.close();
    gw = undefined;
    expect((await client.closed).code).toBe(1001);
    await closing;
  });

  it("says TOKEN_EXPIRED per thread and closes 4001 when the token expires without a refresh", async () => {
    gw = await startTestGateway(redis.url, { JWT_CLOCK_TOLERANCE_S: "0" });
    const client = await connectWs(wsUrl(gw), { authorization: `Bearer ${gw.token({ ttlSeconds: 2 })}` });
    const [a, b] = [uniqueId(), uniqueId()];
    for (const t of [a, b]) client.send({ type: "subscribe", threadId: t });
    await client.waitFor((c) => c.frames.filter((f) => f.type === "subscribed").length === 2);
    expect(await client.closed).toEqual({ code: 4001, reason: "TOKEN_EXPIRED" });
    expect(client.errors().map((e) => [e.code, e.threadId])).toEqual([
      ["TOKEN_EXPIRED", a],
      ["TOKEN_EXPIRED", b],
    ]);
  });

  it("a refresh before expiry keeps the socket open past the first token's exp", async () => {
    gw = await startTestGateway(redis.url, { JWT_CLOCK_TOLERANCE_S: "0" });
    const client = await connectWs(wsUrl(gw), { authorization: `Bearer ${gw.token({ ttlSeconds: 2 })}` });
    const t = uniqueId();
    client.send({ type: "subscribe", threadId: t });
    client.send({ type: "refresh", token: gw.token({ ttlSeconds: 60 }) });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(client.isClosed()).toBe(false);
    await run(t, 1);
    await client.waitFor((c) => c.eventsOf(t).length === 2);
    expect(client.errors()).toEqual([]);
    client.close();
  });
});
