import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createEventPublisher, keys } from "@threadline/redis";
import { openSse, type SseClientOptions, type SseConnection, uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { pubsubClients, settle, useAdminRedis } from "./test-support/admin-redis.js";
import { useTestGateway } from "./test-support/test-gateway.js";

const exec = promisify(execFile);

const t = useAdminRedis();

const ids = (conn: SseConnection, type = "token") =>
  conn.events.filter((e) => e.event === type).map((e) => e.id);

describe.each(["dedicated", "shared"] as const)("SSE stream (%s subscribers, real Redis)", (mode) => {
  const fixture = useTestGateway(() => t.redis.url, {
    SUBSCRIBER_MODE: mode,
    HEARTBEAT_INTERVAL_MS: "200",
    JWT_CLOCK_TOLERANCE_S: "0",
    MAX_EVENT_BYTES: "4096",
    WATCHER_TTL_MS: "1000",
    MAX_STREAMS_PER_SUBJECT: "1000",
  });
  const publisher = () => createEventPublisher(t.client, { logMaxLen: 10_000, logTtlSeconds: 600 });

  async function open(
    threadId: string,
    query: Record<string, string> = {},
    options: SseClientOptions & { token?: string } = {},
  ) {
    const conn = await openSse(fixture.gw.eventsUrl(threadId, query), {
      ...options,
      headers: { authorization: `Bearer ${options.token ?? fixture.gw.token()}`, ...options.headers },
    });
    fixture.conns.push(conn);
    return conn;
  }

  async function publishTokens(threadId: string, count: number) {
    const p = publisher();
    const out: string[] = [];
    for (let i = 1; i <= count; i++)
      out.push((await p.publish({ threadId, runId: "r1" }, { type: "token", content: `t${i}` })).id);
    return out;
  }

  it("a live-only stream starts with an id-only frame at the log's tail: a client that drops before any event resumes from it and loses nothing", async () => {
    const threadId = uniqueId();
    const before = await publishTokens(threadId, 2);
    const response = await fetch(fixture.gw.eventsUrl(threadId), {
      headers: { authorization: `Bearer ${fixture.gw.token()}` },
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let head = "";
    // Up to the position frame, or the first heartbeat (200 ms) when there is none.
    while (!/\nid: [^\n]*\n\n|: keepalive/.test(head))
      head += new TextDecoder().decode((await reader.read()).value);
    // retry first, then the position (no data: an EventSource fires nothing for it).
    expect(head).toMatch(new RegExp(`^retry: \\d+\\n\\nid: ${before[1]}\\n\\n`));
    await reader.cancel();
    // Gone before its first event; three are published meanwhile.
    const missed = await publishTokens(threadId, 3);
    const resumed = await open(threadId, {}, { lastEventId: before[1] });
    await resumed.waitForEvents(3);
    expect(ids(resumed)).toEqual(missed);
  });

  it("sends the contract's headers and retry, then a redis-cli publish reaches every client of x and none of y", async () => {
    const x = uniqueId();
    const y = uniqueId();
    const xs = await Promise.all([open(x), open(x), open(x)]);
    const other = await open(y);
    for (const c of [...xs, other]) {
      expect(c.status).toBe(200);
      expect(c.headers["content-type"]).toBe("text/event-stream");
      expect(c.headers["cache-control"]).toBe("no-cache, no-transform");
      expect(c.headers["x-accel-buffering"]).toBe("no");
      // Close-delimited, not chunked: one buffer per event instead of four (sse-transport.ts).
      expect(c.headers.connection).toBe("close");
      expect(c.headers["transfer-encoding"]).toBeUndefined();
    }
    await xs[0]!.waitFor((c) => c.retry !== undefined);
    expect(xs[0]!.retry).toBe(fixture.gw.config.retryMs);
    if (mode === "shared") {
      const [, subscribers] = (await t.client.call("PUBSUB", "NUMSUB", keys.threadChannel(x))) as [
        string,
        number,
      ];
      expect(subscribers).toBe(1);
    }

    const { port } = new URL(t.redis.url);
    await exec("redis-cli", ["-p", port, "publish", `thread:${x}`, '{"type":"token","content":"hi"}']);
    for (const c of xs) await c.waitForEvents(1);
    await exec("redis-cli", ["-p", port, "publish", `thread:${y}`, '{"type":"token","content":"only-y"}']);
    await other.waitForEvents(1);
    await new Promise((r) => setTimeout(r, 50));

    for (const c of xs) {
      expect(c.events).toHaveLength(1);
      expect(c.events[0]).toMatchObject({ event: "token", id: undefined });
      expect(JSON.parse(c.events[0]!.data)).toMatchObject({ type: "token", threadId: x, content: "hi" });
    }
    expect(other.json()).toEqual([expect.objectContaining({ threadId: y, content: "only-y" })]);
  });

  it("resumes from every k of a 200-event log with exactly k+1…200, then goes live", {
    timeout: 30_000,
  }, async () => {
    const threadId = uniqueId();
    const logged = await publishTokens(threadId, 200);
    // Every position, half by Last-Event-ID and half by ?after, in batches to keep sockets bounded.
    const clients: { k: number; conn: SseConnection }[] = [];
    for (let start = -1; start < 200; start += 50) {
      const batch = [];
      for (let k = start; k < Math.min(start + 50, 200); k++) {
        const position = k < 0 ? "0" : logged[k]!;
        const conn =
          k % 2 === 0 ? open(threadId, {}, { lastEventId: position }) : open(threadId, { after: position });
        batch.push(conn.then((c) => clients.push({ k, conn: c })));
      }
      await Promise.all(batch);
    }
    for (const { k, conn } of clients) await conn.waitForEvents(199 - k);
    const live = await publishTokens(threadId, 2);
    for (const { k, conn } of clients) {
      await conn.waitForEvents(199 - k + 2);
      expect(ids(conn)).toEqual([...logged.slice(k + 1), ...live]);
      expect(conn.events.some((e) => e.event === "stream-error")).toBe(false);
    }
  });

  it("delivers a publish that races the replay exactly once", async () => {
    const threadId = uniqueId();
    const logged = await publishTokens(threadId, 200);
    const racing = publishTokens(threadId, 300);
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) => i * 10).map(async (k) => ({
        k,
        conn: await open(threadId, {}, { lastEventId: logged[k]! }),
      })),
    );
    // A hand-published (id-less) event while replays and the racing publisher run: not in the log,
    // so it must pass the id filter and reach every client exactly once.
    await t.client.publish(keys.threadChannel(threadId), '{"type":"status","content":{"state":"running"}}');
    const all = [...logged, ...(await racing)];
    for (const { k, conn } of clients) {
      await conn.waitFor((c) => c.lastEventId === all.at(-1) && c.events.some((e) => e.event === "status"));
      expect(ids(conn)).toEqual(all.slice(k + 1));
      expect(conn.events.filter((e) => e.event === "status")).toHaveLength(1);
    }
  });

  it("survives CLIENT KILL TYPE pubsub three times: 500 events exactly once, in order, on one connection", {
    timeout: 30_000,
  }, async () => {
    const threadId = uniqueId();
    const conn = await open(threadId);
    const resubscribesBefore = await fixture.gw.metric("threadline_gateway_resubscribes_total");
    const p = publisher();
    // Kill at 100, 250 and 400 (each once the previous kill's resubscribe happened) and publish on
    // at once: what is published while the subscriber is down can only come from the log backfill.
    let kills = 0;
    for (let i = 1; i <= 500; i++) {
      await p.publish({ threadId, runId: "r1" }, { type: "token", content: `t${i}` });
      if (i === 100 || i === 250 || i === 400) {
        await expect
          .poll(() => fixture.gw.metric("threadline_gateway_resubscribes_total"), settle("resubscribe"))
          .toBeGreaterThanOrEqual(resubscribesBefore + kills);
        await t.client.call("CLIENT", "KILL", "TYPE", "pubsub");
        kills += 1;
      }
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await conn.waitForEvents(500, 15_000);
    expect(conn.closed).toBe(false);
    expect(conn.json<{ seq: number }>().map((e) => e.seq)).toEqual(
      Array.from({ length: 500 }, (_, i) => i + 1),
    );
    expect(await fixture.gw.metric("threadline_gateway_resubscribes_total")).toBeGreaterThanOrEqual(
      resubscribesBefore + 3,
    );
  });

  it("releases every subscriber connection, timer and channel after 200 clients connect and leave", {
    timeout: 30_000,
  }, async () => {
    const threadIds = Array.from({ length: 10 }, () => uniqueId());
    // This file's Redis is its own: once earlier tests' streams are gone, nothing is in pubsub state
    // (the shared connection leaves it when its last channel is unsubscribed).
    await expect.poll(() => pubsubClients(t.client), settle("earlier subscribers to close")).toBe(0);
    const baselinePubsub = await pubsubClients(t.client);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const baselineTimers = timers();

    const opened = await Promise.all(Array.from({ length: 200 }, (_, i) => open(threadIds[i % 10]!)));
    expect(opened.every((c) => c.status === 200)).toBe(true);
    // Shared: one multiplexed connection (in pubsub state only while it has channels); dedicated: one per client.
    expect(await pubsubClients(t.client)).toBe(mode === "shared" ? baselinePubsub + 1 : baselinePubsub + 200);
    expect(await fixture.gw.metric("threadline_gateway_open_streams")).toBe(200);
    expect(timers()).toBeGreaterThanOrEqual(baselineTimers + 200);

    for (const c of fixture.conns.splice(0)) c.close();
    await expect
      .poll(() => fixture.gw.metric("threadline_gateway_open_streams"), settle("streams to end"))
      .toBe(0);
    await expect
      .poll(() => pubsubClients(t.client), settle("CLIENT LIST TYPE pubsub back to baseline"))
      .toBe(baselinePubsub);
    await expect
      .poll(
        async () => ((await t.client.call("PUBSUB", "CHANNELS", "thread:*")) as string[]).length,
        settle("channels unsubscribed"),
      )
      .toBe(0);
    await expect.poll(timers, settle("per-stream timers to be cleared")).toBeLessThanOrEqual(baselineTimers);
    for (const threadId of threadIds)
      await expect
        .poll(() => t.client.zcard(keys.threadWatchers(threadId)), settle("watchers removed"))
        .toBe(0);
  });

  it("flags a resume id that is no longer in the log with REPLAY_TRUNCATED, then sends everything retained", async () => {
    const threadId = uniqueId();
    const logged = await publishTokens(threadId, 5);
    const conn = await open(threadId, {}, { lastEventId: "1-0" });
    await conn.waitForEvents(6);
    expect(conn.events[0]!.event).toBe("stream-error");
    expect(JSON.parse(conn.events[0]!.data).content).toMatchObject({
      code: "REPLAY_TRUNCATED",
      retryable: false,
    });
    expect(ids(conn)).toEqual(logged);

    const everything = await open(threadId, { after: "0" });
    await everything.waitForEvents(5);
    expect(everything.events.map((e) => e.event)).toEqual(["token", "token", "token", "token", "token"]);
  });

  it("ends the response after done with ?until=done", async () => {
    const threadId = uniqueId();
    const p = publisher();
    await p.publish({ threadId, runId: "r1" }, { type: "token", content: "a" });
    await p.publish({ threadId, runId: "r1" }, { type: "done", content: { finishReason: "stop" } });
    const replayed = await open(threadId, { after: "0", until: "done" });
    await replayed.ended;
    expect(replayed.events.map((e) => e.event)).toEqual(["token", "done"]);

    const live = await open(threadId, { until: "done" });
    await p.publish(
      { threadId, runId: "r2" },
      { type: "error", content: { code: "X", message: "boom", retryable: false } },
    );
    await live.ended;
    expect(live.events.map((e) => e.event)).toEqual(["run-error"]);
  });

  it("sends TOKEN_EXPIRED in-band when the token's exp passes, then ends", async () => {
    const threadId = uniqueId();
    const token = fixture.gw.token({ ttlSeconds: 2 });
    const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp as number;
    const conn = await open(threadId, {}, { token });
    await conn.ended;
    // JWT_CLOCK_TOLERANCE_S=0 in this suite: ended at exp, not before (timer granularity aside).
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 20);
    const last = conn.events.at(-1)!;
    expect(last.event).toBe("stream-error");
    expect(JSON.parse(last.data).content).toMatchObject({ code: "TOKEN_EXPIRED", retryable: true });
  });

  it("speaks protocol 2: no frame is named error; ?format=message leaves names out for onmessage", async () => {
    const threadId = uniqueId();
    const p = publisher();
    await p.publish({ threadId, runId: "r1" }, { type: "token", content: "a" });
    await p.publish(
      { threadId, runId: "r1" },
      { type: "error", content: { code: "X", message: "boom", retryable: false } },
    );
    const named = await open(threadId, { after: "1-0" });
    const unnamed = await open(threadId, { after: "1-0", format: "message" });
    for (const c of [named, unnamed]) {
      expect(c.headers["threadline-protocol"]).toBe("2");
      await c.waitForEvents(3);
    }
    expect(named.events.map((e) => e.event)).toEqual(["stream-error", "token", "run-error"]);
    expect(unnamed.events.map((e) => e.event)).toEqual([undefined, undefined, undefined]);
    expect(unnamed.json().map((e) => e.type)).toEqual(["error", "token", "error"]);
    expect(unnamed.events.map((e) => e.id)).toEqual(named.events.map((e) => e.id));
    const bad = await open(threadId, { format: "xml" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe("INVALID_QUERY");
  });

  it("writes : keepalive comments every HEARTBEAT_INTERVAL_MS", async () => {
    const conn = await open(uniqueId());
    await conn.waitFor((c) => c.comments.filter((x) => x === "keepalive").length >= 2, 3_000);
  });

  it("drops junk with one warn line and a metric per message, and keeps streaming", async () => {
    const threadId = uniqueId();
    const clients = await Promise.all([open(threadId), open(threadId), open(threadId)]);
    const before = fixture.gw.logs.length;
    const channel = keys.threadChannel(threadId);
    await t.client.publish(channel, "not json {");
    await t.client.publish(channel, '{"type":"nope","content":"x"}');
    await t.client.publish(channel, JSON.stringify({ type: "token", content: "x".repeat(5000) }));
    await t.client.publish(channel, '{"type":"token","content":"after junk"}');
    for (const c of clients) await c.waitForEvents(1);
    await new Promise((r) => setTimeout(r, 100));
    for (const c of clients) expect(c.json()).toEqual([expect.objectContaining({ content: "after junk" })]);
    const warns = fixture.gw.logs
      .slice(before)
      .filter((l) => l.msg === "dropped invalid message" && l.threadId === threadId);
    expect(warns.map((w) => w.reason).sort()).toEqual(["not_json", "too_large", "unknown_type"]);
    expect(warns.every((w) => String(w.sample).length < 200)).toBe(true);
    const metrics = await (await fetch(`${fixture.gw.base}/metrics`)).text();
    expect(metrics).toMatch(/threadline_gateway_invalid_messages_dropped_total\{reason="too_large"\} [1-9]/);
  });

  it("leaves nothing subscribed when a client leaves while the subscriber connection is down", async () => {
    const [gone, staying] = [uniqueId(), uniqueId()];
    const a = await open(gone);
    const b = await open(staying);
    const before = await fixture.gw.metric("threadline_gateway_resubscribes_total");
    await t.client.call("CLIENT", "KILL", "TYPE", "pubsub");
    a.close();
    await expect
      .poll(() => fixture.gw.metric("threadline_gateway_resubscribes_total"), settle("resubscribe"))
      .toBeGreaterThan(before);
    const numsub = async (threadId: string) =>
      ((await t.client.call("PUBSUB", "NUMSUB", keys.threadChannel(threadId))) as [string, number])[1];
    await expect.poll(() => numsub(gone), settle("the left thread to be unsubscribed")).toBe(0);
    expect(await numsub(staying)).toBe(1);
    await t.client.publish(keys.threadChannel(staying), '{"type":"token","content":"still here"}');
    await b.waitForEvents(1);
  });

  it("keeps the thread's watcher set in Redis while streams are open", { timeout: 15_000 }, async () => {
    const threadId = uniqueId();
    const key = keys.threadWatchers(threadId);
    const a = await open(threadId);
    const b = await open(threadId);
    await expect.poll(() => t.client.zcount(key, Date.now(), "+inf"), settle("two watchers")).toBe(2);
    expect(await t.client.pttl(key)).toBeGreaterThan(0);
    a.close();
    await expect.poll(() => t.client.zcard(key), settle("one watcher")).toBe(1);
    // Refreshed every WATCHER_TTL_MS/3: still live after more than one TTL.
    await new Promise((r) => setTimeout(r, 1_300));
    expect(await t.client.zcount(key, Date.now(), "+inf")).toBe(1);
    b.close();
    await expect.poll(() => t.client.zcard(key), settle("no watchers")).toBe(0);
  });
});
