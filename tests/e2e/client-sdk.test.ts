import { signDevToken } from "@threadline/auth";
import {
  type ChannelLike,
  type ConnectionStateChange,
  createMemoryLocks,
  createThreadlineClient,
  createThreadView,
  reduceThread,
  type StreamItem,
  type ThreadlineClient,
  type TokenReason,
} from "@threadline/client";
import { DEV_JWT_SECRET } from "@threadline/config";
import { SNAPSHOT_KIND, type ThreadEvent } from "@threadline/protocol";
import { keys } from "@threadline/redis";
import { type ManagedProcess, startServiceProcess, uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";

// The SDK against the real stack: gateway, API and worker processes from source, real Redis.
const HEARTBEAT_MS = 500;
const GATEWAY_ENV = { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS), SSE_RETRY_MS: "100" };
const SUB = "sdk-e2e";
let topology: Topology;
let gatewayUrl: string;
let apiUrl: string;
let restarted: ManagedProcess | undefined;

beforeAll(async () => {
  topology = await startTopology({
    gateways: 1,
    apis: 1,
    workers: 1,
    nginx: false,
    // No clock tolerance: a token's expiry shows up on the stream within a second.
    env: { JWT_CLOCK_TOLERANCE_S: "0" },
    envFor: { gateway: GATEWAY_ENV, api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" } },
  });
  gatewayUrl = topology.gateways[0]!.url;
  apiUrl = topology.apis[0]!.url;
}, 120_000);

afterAll(async () => {
  await restarted?.stop();
  await topology?.stop();
}, 60_000);

const longToken = signDevToken(DEV_JWT_SECRET, { sub: SUB, threads: ["*"], ttlSeconds: 3600 });

function clientWith(getToken: (reason: TokenReason) => string): ThreadlineClient {
  return createThreadlineClient({ apiUrl, gatewayUrl, getToken: ({ reason }) => getToken(reason) });
}

/** Follows a thread with the SDK, recording items and state changes. */
function follow(
  client: ThreadlineClient,
  threadId: string,
  /** "sdk-default": no `from`, the SDK's default. */
  from: string = "start",
  share?: { locks: ReturnType<typeof createMemoryLocks>; namespace: string },
) {
  const controller = new AbortController();
  const items: StreamItem[] = [];
  const changes: ConnectionStateChange[] = [];
  const done = (async () => {
    const stream = client.thread(threadId).events({
      ...(from === "sdk-default" ? {} : { from }),
      signal: controller.signal,
      heartbeatTimeoutMs: HEARTBEAT_MS * 3,
      backoff: { initialDelayMs: 100, maxDelayMs: 500 },
      onStateChange: (c) => changes.push(c),
      ...(share
        ? {
            shareAcrossTabs: {
              ...share,
              channels: (n: string) => new BroadcastChannel(n) as unknown as ChannelLike,
            },
          }
        : {}),
    });
    for await (const item of stream) items.push(item);
  })();
  const events = () => items.flatMap((i) => (i.kind === "event" ? [i.event] : []));
  return {
    items,
    changes,
    events,
    tokens: () => events().filter((e) => e.type === "token").length,
    finished: (runId: string) => events().some((e) => e.runId === runId && e.type === "done"),
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** `expect.poll` options: a stream across real processes gets up to 30 s, looked at every 20 ms. */
const within = (what: string, timeoutMs = 30_000) => ({ timeout: timeoutMs, interval: 20, message: what });

/** The whole replay log of a thread, through the SDK's history pages. */
async function readLog(client: ThreadlineClient, threadId: string): Promise<ThreadEvent[]> {
  const events: ThreadEvent[] = [];
  let after = "0";
  for (;;) {
    const page = await client.thread(threadId).history({ after, limit: 1000 });
    events.push(...page.events);
    if (!page.more) return events;
    after = page.nextAfter;
  }
}

/** Everything the client received is the log, in order, each event once; and it reduces to a finished run. */
async function expectWholeRun(
  client: ThreadlineClient,
  threadId: string,
  runId: string,
  received: ThreadEvent[],
) {
  const log = await readLog(client, threadId);
  expect(log.length).toBeGreaterThan(5);
  expect(received.map((e) => e.id)).toEqual(log.map((e) => e.id));
  const view = received.reduce((v, event) => reduceThread(v, { kind: "event", event }), createThreadView());
  const run = view.runs[runId]!;
  expect(run).toMatchObject({ finished: true, missedEvents: 0, done: { finishReason: "stop" } });
  const answer = log.flatMap((e) => (e.type === "token" ? [e.content] : [])).join("");
  expect(run.text).toBe(answer);
  expect(run.toolCalls.length).toBeGreaterThan(0);
  expect(run.toolCalls.every((c) => c.state === "done")).toBe(true);
}

/** The gateway's own count of open SSE streams (its /metrics). */
async function openStreams(): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("threadline_gateway_open_streams"));
  return Number(line?.split(" ").at(-1) ?? Number.NaN);
}

/** The gateway again, on the port it had (so the client's URL stays valid). */
async function startGateway(port: number): Promise<ManagedProcess> {
  const gateway = await startServiceProcess({
    kind: "gateway",
    name: "gateway-restarted",
    port,
    env: { LOG_LEVEL: "warn", JWT_CLOCK_TOLERANCE_S: "0", ...topology.redisEnv, ...GATEWAY_ENV },
  });
  return gateway.process;
}

/**
 * SIGSTOPs the gateway (silent, connections open) until the stream gives up on it by its heartbeat
 * timeout; `meanwhile` runs while it is stopped. The gateway answers again afterwards.
 */
async function silenceGateway(
  stream: { changes: ConnectionStateChange[] },
  meanwhile?: () => Promise<void>,
): Promise<void> {
  const pid = (restarted ?? topology.gateways[0]!.process).pid;
  process.kill(pid, "SIGSTOP");
  try {
    await meanwhile?.();
    await expect
      .poll(
        () => stream.changes.some((c) => c.state === "reconnecting" && c.reason === "heartbeat_timeout"),
        within("the heartbeat timeout", 10_000),
      )
      .toBe(true);
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

describe("@threadline/client against the real stack", () => {
  it("resumes with Last-Event-ID after the gateway is killed and restarted, losing nothing", async () => {
    const client = clientWith(() => longToken);
    const threadId = uniqueId("sdk-kill");
    const stream = follow(client, threadId);
    await expect
      .poll(() => stream.changes.some((c) => c.state === "live"), within("the stream to be live"))
      .toBe(true);
    const { runId } = await client.runs.create(threadId, {
      agent: "demo",
      input: { prompt: "count the words of this sentence", tokensPerSecond: 40, maxTokens: 120 },
    });
    await expect.poll(() => stream.tokens() >= 5, within("the first tokens")).toBe(true);
    const gateway = topology.gateways[0]!;
    const killedAt = Date.now();
    await gateway.process.kill("SIGKILL");
    restarted = await startGateway(gateway.port);
    const readyAt = Date.now();
    await expect
      .poll(() => stream.finished(runId), within("the run's done event after the restart"))
      .toBe(true);
    await stream.stop();

    await expectWholeRun(client, threadId, runId, stream.events());
    const reconnect = stream.changes.find((c) => c.state === "reconnecting");
    expect(reconnect?.reason).toMatch(/^(network|server_closed)$/);
    const resumed = stream.changes.find((c) => c.state === "live" && c.resumed);
    expect(resumed?.lastEventId).toBeDefined();
    const attempts = stream.changes.filter((c) => c.state === "reconnecting").length;
    console.info(
      `[sdk-e2e] gateway down ${readyAt - killedAt} ms (restart from source); ${attempts} reconnect attempts; ` +
        `${stream.events().length} events, none lost`,
    );
    expect(stream.changes.at(-1)).toMatchObject({ state: "closed", reason: "aborted" });
  });

  it("refreshes the token on TOKEN_EXPIRED and resumes without loss", async () => {
    const threadId = uniqueId("sdk-token");
    const reasons: TokenReason[] = [];
    // Two-second tokens: every one of them expires mid-run.
    const client = clientWith((reason) => {
      reasons.push(reason);
      return signDevToken(DEV_JWT_SECRET, { sub: SUB, threads: [threadId], ttlSeconds: 2 });
    });
    const stream = follow(client, threadId);
    await expect
      .poll(() => stream.changes.some((c) => c.state === "live"), within("the stream to be live"))
      .toBe(true);
    const { runId } = await client.runs.create(threadId, {
      agent: "demo",
      input: { prompt: "a slow answer", tokensPerSecond: 12, maxTokens: 50 },
    });
    await expect.poll(() => stream.finished(runId), within("the run's done event", 45_000)).toBe(true);
    await stream.stop();

    await expectWholeRun(
      clientWith(() => longToken),
      threadId,
      runId,
      stream.events(),
    );
    const expiries = stream.changes.filter((c) => c.state === "reconnecting" && c.reason === "token_expired");
    expect(expiries.length).toBeGreaterThanOrEqual(1);
    expect(reasons.filter((r) => r === "expired").length).toBeGreaterThanOrEqual(expiries.length);
    expect(stream.changes.filter((c) => c.state === "live" && c.resumed).length).toBeGreaterThanOrEqual(1);
    console.info(
      `[sdk-e2e] ${expiries.length} TOKEN_EXPIRED refreshes during one run, ${stream.events().length} events`,
    );
  });

  it("surfaces REPLAY_TRUNCATED as a gap item, then everything retained", async () => {
    const client = clientWith(() => longToken);
    const threadId = uniqueId("sdk-gap");
    const writer = follow(client, threadId);
    await expect
      .poll(() => writer.changes.some((c) => c.state === "live"), within("the stream to be live"))
      .toBe(true);
    const { runId } = await client.runs.create(threadId, {
      agent: "demo",
      input: { prompt: "short", tokensPerSecond: 0, maxTokens: 10 },
    });
    await expect.poll(() => writer.finished(runId), within("the run to finish")).toBe(true);
    await writer.stop();
    const before = await readLog(client, threadId);
    const redis = new Redis(topology.redisEnv.REDIS_URL!);
    try {
      await redis.xtrim(keys.threadLog(threadId), "MAXLEN", 3);
    } finally {
      redis.disconnect();
    }
    const resumeFrom = before[1]!.id!;

    const reader = follow(client, threadId, resumeFrom);
    await expect.poll(() => reader.items.length >= 4, within("the gap and the retained events")).toBe(true);
    await reader.stop();
    expect(reader.items[0]).toMatchObject({ kind: "gap", reason: "REPLAY_TRUNCATED", after: resumeFrom });
    expect(reader.events().map((e) => e.id)).toEqual(before.slice(-3).map((e) => e.id));
  });

  it("reconnects when the gateway goes silent (SIGSTOP) and catches up once it answers again", async () => {
    const client = clientWith(() => longToken);
    const threadId = uniqueId("sdk-silent");
    const stream = follow(client, threadId);
    await expect
      .poll(() => stream.changes.some((c) => c.state === "live"), within("the stream to be live"))
      .toBe(true);
    const { runId } = await client.runs.create(threadId, {
      agent: "demo",
      input: { prompt: "keep talking", tokensPerSecond: 30, maxTokens: 90 },
    });
    await expect.poll(() => stream.tokens() >= 3, within("the first tokens")).toBe(true);
    await silenceGateway(stream);
    await expect.poll(() => stream.finished(runId), within("the run's done event")).toBe(true);
    await stream.stop();
    await expectWholeRun(client, threadId, runId, stream.events());
  });

  it('from: "live" resumes from where it joined when it drops before its first event (the id-only frame; gateway SIGSTOP)', async () => {
    const client = clientWith(() => longToken);
    const threadId = uniqueId("sdk-live");
    const stream = follow(client, threadId, "live");
    await expect
      .poll(() => stream.changes.some((c) => c.state === "live"), within("the stream to be live"))
      .toBe(true);
    let runId = "";
    await silenceGateway(stream, async () => {
      // A whole run is published while the client has seen no event yet.
      runId = (
        await client.runs.create(threadId, {
          agent: "demo",
          input: { prompt: "while nobody listens", tokensPerSecond: 0, maxTokens: 20 },
        })
      ).runId;
      await expect
        .poll(
          async () => (await readLog(client, threadId)).some((e) => e.type === "done"),
          within("the run to end"),
        )
        .toBe(true);
    });
    await expect
      .poll(() => stream.finished(runId), within("the run's events after the reconnect"))
      .toBe(true);
    await stream.stop();
    // Before the SDK read the gateway's position frame, the reconnect was live-only again: all lost.
    expect(stream.changes.find((c) => c.state === "live" && c.resumed)?.lastEventId).toBe("0");
    await expectWholeRun(client, threadId, runId, stream.events());
  });

  it("joins a run in progress with a snapshot by default, then resumes from it by Last-Event-ID (gateway SIGSTOP)", async () => {
    const client = clientWith(() => longToken);
    const threadId = uniqueId("sdk-snap");
    const { runId } = await client.runs.create(threadId, {
      agent: "demo",
      input: { prompt: "join me late", tokensPerSecond: 30, maxTokens: 90 },
    });
    await expect
      .poll(
        async () => (await readLog(client, threadId)).filter((e) => e.type === "token").length,
        within("tokens before the join"),
      )
      .toBeGreaterThanOrEqual(10);
    const stream = follow(client, threadId, "sdk-default");
    await expect.poll(() => stream.events().length >= 2, within("the snapshot, then live")).toBe(true);
    const [snapshot] = stream.events();
    expect(snapshot).toMatchObject({ type: "delta", runId, content: { kind: SNAPSHOT_KIND } });
    await silenceGateway(stream);
    await expect.poll(() => stream.finished(runId), within("the run's done event")).toBe(true);
    await stream.stop();

    // The snapshot stands for the log up to its id; everything after it came once, in order, and the
    // reconnect resumed by Last-Event-ID (no second snapshot).
    const log = await readLog(client, threadId);
    const at = log.findIndex((e) => e.id === snapshot?.id);
    expect(at).toBeGreaterThan(8);
    expect(
      stream
        .events()
        .slice(1)
        .map((e) => e.id),
    ).toEqual(log.slice(at + 1).map((e) => e.id));
    expect(stream.changes.find((c) => c.state === "live" && c.resumed)?.lastEventId).toBeDefined();
    const view = stream
      .events()
      .reduce((v, event) => reduceThread(v, { kind: "event", event }), createThreadView());
    const answer = log.flatMap((e) => (e.type === "token" ? [e.content] : [])).join("");
    expect(view.runs[runId]).toMatchObject({ finished: true, text: answer, missedEvents: 0 });
  });

  it("tabs sharing one thread open ONE gateway stream, and keep streaming when the leader leaves", async () => {
    const client = clientWith(() => longToken);
    const threadId = uniqueId("sdk-tabs");
    const share = { locks: createMemoryLocks(), namespace: uniqueId("origin") };
    const baseline = await openStreams();
    const tabs = [follow(client, threadId, "start", share)];
    await expect
      .poll(() => tabs[0]!.changes.some((c) => c.state === "live"), within("the leader to be live"))
      .toBe(true);
    tabs.push(follow(client, threadId, "start", share), follow(client, threadId, "start", share));
    await expect
      .poll(
        () => tabs.every((t) => t.changes.some((c) => c.state === "live")),
        within("every tab to know it is live"),
      )
      .toBe(true);
    expect(await openStreams()).toBe(baseline + 1);

    const { runId } = await client.runs.create(threadId, {
      agent: "demo",
      input: { prompt: "shared by three tabs", tokensPerSecond: 40, maxTokens: 80 },
    });
    await expect.poll(() => tabs.every((t) => t.tokens() >= 5), within("tokens in every tab")).toBe(true);
    await tabs[0]!.stop();
    await expect
      .poll(
        () => tabs.slice(1).every((t) => t.finished(runId)),
        within("the rest of the run after the leader left"),
      )
      .toBe(true);
    expect(await openStreams()).toBe(baseline + 1);
    for (const tab of tabs.slice(1)) {
      await tab.stop();
      await expectWholeRun(client, threadId, runId, tab.events());
    }
  });
});
