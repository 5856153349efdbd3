import { signPublishToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

let h: ApiHarness;
beforeAll(async () => {
  // A long silence timeout: these tests are about publishing; external-run-timeout tests the timer.
  h = await startApiHarness({ MAX_EVENT_BYTES: "4096", EXTERNAL_RUN_TIMEOUT_MS: "600000" });
});
afterAll(async () => {
  await h?.close();
});

interface Created {
  runId: string;
  threadId: string;
  publishUrl: string;
  publishToken: string;
  publishTokenExpiresAt: string;
  eventsUrl: string;
  status: string;
}

async function createExternal(
  threadId = uniqueId("ext"),
  body: Record<string, unknown> = {},
): Promise<Created> {
  const res = await h.app.inject({
    method: "POST",
    url: `/v1/threads/${threadId}/runs`,
    headers: { authorization: h.bearer("owner"), "content-type": "application/json" },
    payload: JSON.stringify({ runner: "external", ...body }),
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

function publish(run: Created, body: unknown, authorization = `Bearer ${run.publishToken}`) {
  return h.app.inject({
    method: "POST",
    url: run.publishUrl,
    headers: { authorization, "content-type": "application/json" },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function logged(threadId: string) {
  const page = await readLog(h.redis, threadId, "0", 10_000);
  return page.entries.map((e) => JSON.parse(e.json) as Record<string, unknown>);
}

async function record(run: Created) {
  const res = await h.app.inject({
    url: `/v1/threads/${run.threadId}/runs/${run.runId}`,
    headers: { authorization: h.bearer("owner") },
  });
  return res.json() as Record<string, unknown>;
}

const token = (content: string, extra: Record<string, unknown> = {}) => ({
  type: "token",
  content,
  ...extra,
});

describe("external runs: creation", () => {
  it("202 with a publish URL and a token scoped to the run; status queued published; no job queued", async () => {
    const run = await createExternal(undefined, {
      input: { question: "hi" },
      metadata: { origin: "python" },
    });
    expect(run).toMatchObject({
      status: "queued",
      publishUrl: `/v1/threads/${run.threadId}/runs/${run.runId}/events`,
      eventsUrl: `/v1/threads/${run.threadId}/events`,
    });
    const claims = JSON.parse(Buffer.from(run.publishToken.split(".")[1]!, "base64url").toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      sub: `run:${run.runId}`,
      tl_publish: { threadId: run.threadId, runId: run.runId },
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
    expect(Date.parse(run.publishTokenExpiresAt)).toBeGreaterThan(Date.now());
    expect(await h.queue.queue.getJob(run.runId)).toBeUndefined();
    expect(await record(run)).toMatchObject({
      agent: "external",
      runner: "external",
      status: "queued",
      attempts: 0,
    });
    expect((await logged(run.threadId)).map((e) => e.type)).toEqual(["status"]);
  });

  it("refuses an agent or onDisconnect on an external run, naming the field", async () => {
    for (const [body, field] of [
      [{ agent: "demo" }, "agent"],
      [{ onDisconnect: { cancelAfterMs: 5000 } }, "onDisconnect"],
    ] as const) {
      const res = await h.app.inject({
        method: "POST",
        url: `/v1/threads/${uniqueId()}/runs`,
        headers: { authorization: h.bearer("owner"), "content-type": "application/json" },
        payload: JSON.stringify({ runner: "external", ...body }),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toContain(`${field}:`);
    }
  });
});

describe("external runs: HTTP publish", () => {
  it("one event or a batch: answered with ids and seqs in order; the log and the record follow", async () => {
    const run = await createExternal();
    const first = await publish(run, { type: "status", content: { state: "running" } });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().events).toEqual([{ id: expect.any(String), seq: 2 }]);
    expect(await record(run)).toMatchObject({
      status: "running",
      attempts: 1,
      startedAt: expect.any(String),
    });

    const batch = await publish(run, [
      token("Hel", { threadId: run.threadId, runId: run.runId }),
      token("lo"),
      { type: "delta", content: { kind: "progress", pct: 50 } },
      { type: "done", content: { finishReason: "stop", output: { text: "Hello" } } },
    ]);
    expect(batch.statusCode, batch.body).toBe(200);
    const answered = batch.json().events as { id: string; seq: number }[];
    expect(answered.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    const log = await logged(run.threadId);
    expect(log.map((e) => e.id)).toEqual([
      log[0]!.id,
      first.json().events[0].id,
      ...answered.map((e) => e.id),
    ]);
    expect(log.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await record(run)).toMatchObject({
      status: "completed",
      output: { text: "Hello" },
      finishedAt: expect.any(String),
    });
  });

  it("the same batch POSTed twice (idempotency keys) leaves one copy and the same answer", async () => {
    const run = await createExternal();
    const body = Array.from({ length: 50 }, (_, i) => token(`t${i}`, { idempotencyKey: `k${i}` }));
    const once = await publish(run, body);
    const twice = await publish(run, body);
    expect(twice.statusCode).toBe(200);
    expect(twice.json().events.map((e: { id: string }) => e.id)).toEqual(
      once.json().events.map((e: { id: string }) => e.id),
    );
    expect(twice.json().events.every((e: { duplicate?: boolean }) => e.duplicate)).toBe(true);
    expect(await logged(run.threadId)).toHaveLength(51);
  });

  it("lone UTF-16 surrogates (JSON's \\udXXX escapes, which the script's cjson refuses) are published as U+FFFD", async () => {
    const run = await createExternal();
    // JSON.stringify writes each lone surrogate below as a \udXXX escape; the emoji's pair stays as is.
    const res = await publish(run, [
      token("cut \ud83d"),
      token("\udc80 and 😀"),
      {
        type: "delta",
        content: { kind: "tool_call", toolCallId: "c1", name: "read", args: { path: "f\udfff" } },
      },
      { type: "done", content: { finishReason: "stop", output: { text: "half \ud800" } } },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    const log = await logged(run.threadId);
    expect(log.slice(1).map((e) => e.content)).toEqual([
      "cut \ufffd",
      "\ufffd and 😀",
      { kind: "tool_call", toolCallId: "c1", name: "read", args: { path: "f\ufffd" } },
      { finishReason: "stop", output: { text: "half \ufffd" } },
    ]);
    expect(await record(run)).toMatchObject({ status: "completed", output: { text: "half \ufffd" } });
  });

  it("an error and done {finishReason: error} fail the record with the error", async () => {
    const run = await createExternal();
    const res = await publish(run, [
      { type: "error", content: { code: "MODEL_DOWN", message: "upstream 503", retryable: false } },
      { type: "done", content: { finishReason: "error" } },
    ]);
    expect(res.statusCode).toBe(200);
    expect(await record(run)).toMatchObject({
      status: "failed",
      error: { code: "MODEL_DOWN", message: "upstream 503", retryable: false },
    });
  });
});

describe("external runs: every rejection names its field", () => {
  const cases: [string, (run: Created) => unknown, number, string, string][] = [
    ["a bad type", () => ({ type: "tokens", content: "x" }), 400, "INVALID_BODY", "event: type:"],
    [
      "bad content",
      () => [token("ok"), { type: "status", content: { state: "sleeping" } }],
      400,
      "INVALID_BODY",
      "1.content.state",
    ],
    ["an id of its own", () => ({ ...token("x"), id: "1-1" }), 400, "INVALID_BODY", "event"],
    [
      "another thread's id",
      () => [token("x", { threadId: "other-thread" })],
      400,
      "INVALID_BODY",
      "[0].threadId",
    ],
    [
      "an event for another run",
      (run) => [token("a"), token("b", { runId: `${run.runId}x` })],
      400,
      "INVALID_BODY",
      "[1].runId",
    ],
    [
      "an event after done in the batch",
      () => [{ type: "done", content: { finishReason: "stop" } }, token("late")],
      409,
      "RUN_ENDED",
      "[1]",
    ],
    ["an empty batch", () => [], 400, "INVALID_BODY", "events"],
    [
      "more than 1,000 events",
      () => Array.from({ length: 1001 }, () => token("x")),
      400,
      "INVALID_BODY",
      "events",
    ],
    [
      "an event over MAX_EVENT_BYTES",
      () => token("x".repeat(5000)),
      413,
      "EVENT_TOO_LARGE",
      "content: 5002 bytes",
    ],
    [
      "a key over 128 characters",
      () => token("x", { idempotencyKey: "k".repeat(129) }),
      400,
      "INVALID_BODY",
      "idempotencyKey:",
    ],
    ["no JSON", () => "{oops", 400, "INVALID_BODY", "JSON"],
  ];
  it.each(cases)("refuses %s", async (_name, body, status, code, field) => {
    const run = await createExternal();
    const res = await publish(run, body(run));
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.message).toContain(field);
    expect(await logged(run.threadId)).toHaveLength(1);
  });

  it("refuses anything after the run's done (409 RUN_ENDED), unless it repeats a key", async () => {
    const run = await createExternal();
    await publish(run, { type: "done", content: { finishReason: "stop" }, idempotencyKey: "end" });
    const late = await publish(run, token("late"));
    expect(late.statusCode).toBe(409);
    expect(late.json().error).toMatchObject({ code: "RUN_ENDED" });
    expect(
      (await publish(run, { type: "done", content: { finishReason: "stop" }, idempotencyKey: "end" }))
        .statusCode,
    ).toBe(200);
  });

  it("a body over the API's limit is 413", async () => {
    const run = await createExternal();
    const res = await publish(run, [token("x".repeat(2 * 1024 * 1024))]);
    expect(res.statusCode).toBe(413);
  });

  it("tokens: another run's publish token, a user token → 403; admin → 200; a publish token elsewhere → 403", async () => {
    const run = await createExternal();
    const other = await createExternal();
    expect((await publish(run, token("x"), `Bearer ${other.publishToken}`)).statusCode).toBe(403);
    expect((await publish(run, token("x"), h.bearer("owner"))).statusCode).toBe(403);
    expect((await publish(run, token("x"), h.bearer("ops", { role: "admin" }))).statusCode).toBe(200);
    const read = await h.app.inject({
      url: `/v1/threads/${run.threadId}/events`,
      headers: { authorization: `Bearer ${run.publishToken}` },
    });
    expect(read.statusCode).toBe(403);
    const start = await h.app.inject({
      method: "POST",
      url: `/v1/threads/${uniqueId()}/runs`,
      headers: { authorization: `Bearer ${run.publishToken}`, "content-type": "application/json" },
      payload: JSON.stringify({ runner: "external" }),
    });
    expect(start.statusCode).toBe(403);
  });

  it("a run of our workers, or no run at all: 409 RUN_NOT_EXTERNAL, 404", async () => {
    const threadId = uniqueId();
    const agentRun = await h.app.inject({
      method: "POST",
      url: `/v1/threads/${threadId}/runs`,
      headers: { authorization: h.bearer("owner"), "content-type": "application/json" },
      payload: JSON.stringify({ input: { prompt: "hi" } }),
    });
    const runId = agentRun.json().runId as string;
    const admin = h.bearer("ops", { role: "admin" });
    const fake = { runId, threadId, publishUrl: `/v1/threads/${threadId}/runs/${runId}/events` } as Created;
    const notExternal = await publish(fake, token("x"), admin);
    expect(notExternal.statusCode).toBe(409);
    expect(notExternal.json().error.code).toBe("RUN_NOT_EXTERNAL");
    const missing = { ...fake, publishUrl: `/v1/threads/${threadId}/runs/run_nope/events` };
    const publishToken = signPublishToken(DEV_JWT_SECRET, { threadId, runId: "run_nope", ttlSeconds: 60 });
    expect((await publish(missing, token("x"), `Bearer ${publishToken}`)).statusCode).toBe(404);
  });
});
