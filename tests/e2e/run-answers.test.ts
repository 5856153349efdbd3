import { openSse, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpJson } from "../support/http-json.js";
import { type Stack, startStack } from "../support/stack.js";

// Issue 18 item 5: wait for the result, and create + stream a run in one request (real API, gateway, worker).
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

const SUB = "answers";
const runsUrl = (threadId: string, query = "") => `${stack.api.url}/v1/threads/${threadId}/runs${query}`;

interface Run {
  runId: string;
  status: string;
  output?: { text?: string };
  attempts: number;
}

describe("POST …/runs?wait=", () => {
  it("wait=30 answers 200 with the finished run, the same object GET …/runs/:runId returns", async () => {
    const threadId = uniqueId("wait");
    const res = await httpJson<Run>(runsUrl(threadId, "?wait=30"), {
      authorization: stack.bearer(SUB),
      body: { input: { prompt: "What does wait do?", maxTokens: 64, tokensPerSecond: 400 } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe("completed");
    expect(res.body.output?.text?.length).toBeGreaterThan(20);
    const read = await httpJson<Run>(runsUrl(threadId, `/${res.body.runId}`), {
      authorization: stack.bearer(SUB),
    });
    expect(read.body).toEqual(res.body);
  });

  it("answers 202 with the run as it is when the wait ends first, and 400 for a bad wait", async () => {
    const threadId = uniqueId("wait");
    const started = Date.now();
    const res = await httpJson<Run>(runsUrl(threadId, "?wait=1"), {
      authorization: stack.bearer(SUB),
      body: { input: { prompt: "Take your time.", maxTokens: 400, tokensPerSecond: 20 } },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(["queued", "running"]).toContain(res.body.status);
    expect(res.body.attempts).toBeGreaterThanOrEqual(0);
    await httpJson(runsUrl(threadId, `/${res.body.runId}/cancel`), {
      authorization: stack.bearer(SUB),
      body: {},
    });

    for (const wait of ["61", "-1", "x"]) {
      const bad = await httpJson<{ error: { code: string; details: { issues: { path: string }[] } } }>(
        runsUrl(uniqueId("wait"), `?wait=${wait}`),
        { authorization: stack.bearer(SUB), body: { input: { prompt: "never runs" } } },
      );
      expect(bad.status, wait).toBe(400);
      expect(bad.body.error.code).toBe("INVALID_QUERY");
      expect(bad.body.error.details.issues.map((i) => i.path)).toEqual(["wait"]);
    }
  });
});

describe("POST …/runs with Accept: text/event-stream", () => {
  it("creates the run and streams it until done in one request: the same frames as the log, resumable at the gateway", async () => {
    const threadId = uniqueId("oneshot");
    const conn = await openSse(runsUrl(threadId), {
      headers: { authorization: stack.bearer(SUB) },
      json: { input: { prompt: "Stream me in one request.", maxTokens: 64, tokensPerSecond: 400 } },
    });
    expect(conn.status, conn.body).toBe(200);
    expect(conn.headers["content-type"]).toBe("text/event-stream");
    expect(conn.headers["threadline-protocol"]).toBe("2");
    await conn.ended;
    const events = conn.json<{ type: string; runId: string; seq: number }>();
    expect(events[0]).toMatchObject({ type: "status", content: { state: "queued" } });
    expect(events.at(-1)?.type).toBe("done");
    const { runId } = events[0]!;
    expect(events.every((e) => e.runId === runId)).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    // The gateway's replay of that run: byte-identical frames (ids, names, data).
    const log = await openSse(
      `${stack.gateway.url}/v1/threads/${threadId}/events?after=0&runId=${runId}&until=done`,
      {
        headers: { authorization: stack.bearer(SUB, { threads: [threadId] }) },
      },
    );
    await log.ended;
    expect(conn.events).toEqual(log.events);

    // Resuming at the gateway from the middle of the one-request stream gives the rest.
    const middle = Math.floor(conn.events.length / 2);
    const resumed = await openSse(`${stack.gateway.url}/v1/threads/${threadId}/events?until=done`, {
      headers: { authorization: stack.bearer(SUB, { threads: [threadId] }) },
      lastEventId: conn.events[middle - 1]!.id!,
    });
    await resumed.ended;
    expect(resumed.events).toEqual(conn.events.slice(middle));
  }, 60_000);

  it("refuses a bad body with the usual JSON 400 (nothing is created or streamed)", async () => {
    const conn = await openSse(runsUrl(uniqueId("oneshot")), {
      headers: { authorization: stack.bearer(SUB) },
      json: { input: "not an object" },
    });
    expect(conn.status).toBe(400);
    expect(JSON.parse(conn.body)).toMatchObject({ error: { code: "INVALID_BODY" } });
  });
});
