import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import type { ThreadEvent } from "@threadline/protocol";
import {
  type FakeLlmServer,
  OpenAiStream,
  openAiTextReply,
  openSse,
  type SseConnection,
  startFakeOpenAiServer,
  uniqueId,
} from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";

// The OpenAI-compatible agent in a real worker process, pointed (OPENAI_BASE_URL, no key) at a fake
// chat.completions server in this test: runs start at the API, events reach the gateway via Redis.
const MODEL = "fake-llm";
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "llm-e2e", threads: ["*"], ttlSeconds: 3600 });
let llm: FakeLlmServer & { baseUrl: string };
let topology: Topology;

beforeAll(async () => {
  llm = await startFakeOpenAiServer();
  topology = await startTopology({
    gateways: 1,
    apis: 1,
    workers: 1,
    nginx: false,
    // The API reads the same provider env, to accept runs of the configured agents only.
    env: { OPENAI_BASE_URL: llm.baseUrl, OPENAI_MODEL: MODEL },
    envFor: {
      api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" },
      worker: {
        MODEL_PRICES: JSON.stringify({ [MODEL]: { input: 1, output: 2 } }),
        // Every model token its own event, so the assertions can name them.
        TOKEN_COALESCE_MS: "0",
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await topology?.stop();
  await llm?.close();
}, 60_000);

async function watch(threadId: string): Promise<SseConnection> {
  const url = `${topology.gateways[0]!.url}/v1/threads/${threadId}/events?after=0&until=done`;
  const conn = await openSse(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (conn.status !== 200) throw new Error(`SSE ${conn.status}: ${conn.body}`);
  return conn;
}

async function startRun(threadId: string, agent: string, input: Record<string, unknown>) {
  const res = await fetch(`${topology.apis[0]!.url}/v1/threads/${threadId}/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ agent, input }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function enqueue(threadId: string, input: Record<string, unknown>): Promise<string> {
  const { status, body } = await startRun(threadId, "openai", input);
  if (status !== 202 || typeof body.runId !== "string")
    throw new Error(`POST runs: ${status} ${JSON.stringify(body)}`);
  return body.runId;
}

const untilDone = (c: SseConnection) => c.json<ThreadEvent>().some((e) => e.type === "done");

describe("openai agent end to end: API → worker (fake LLM) → Redis → gateway", () => {
  it("streams tokens, a tool call with its streamed arguments, the tool result and done with cost", async () => {
    const fragments = ['{"expres', 'sion": "', "6 * ", '7"}'];
    llm.enqueue(
      {
        kind: "sse",
        frames: new OpenAiStream(undefined, MODEL)
          .role()
          .text("Let me compute.")
          .toolCall(0, "call_e2e", "calculator")
          .toolArgs(0, ...fragments)
          .finish("tool_calls")
          .usage(40, 10)
          .done()
          .frames(),
      },
      openAiTextReply(["6 × 7 ", "is ", "42."], { promptTokens: 60, model: MODEL }),
    );
    const threadId = uniqueId("llm");
    const conn = await watch(threadId);
    const runId = await enqueue(threadId, { prompt: "What is 6 times 7?" });
    await conn.waitFor(untilDone, 30_000);
    await conn.ended;

    const events = conn.json<ThreadEvent>();
    expect(events.map((e) => ({ type: e.type, content: e.content }))).toEqual([
      { type: "status", content: { state: "queued" } },
      { type: "status", content: { state: "running", attempt: 1 } },
      { type: "status", content: { state: "running", attempt: 1, step: 1, total: 8 } },
      { type: "token", content: "Let me compute." },
      { type: "delta", content: { kind: "tool_call", toolCallId: "call_e2e", name: "calculator" } },
      ...fragments.map((argsDelta) => ({
        type: "delta",
        content: { kind: "tool_call", toolCallId: "call_e2e", name: "calculator", argsDelta },
      })),
      {
        type: "delta",
        content: {
          kind: "tool_call",
          toolCallId: "call_e2e",
          name: "calculator",
          args: { expression: "6 * 7" },
        },
      },
      // Live usage after each model turn: cumulative tokens and cost (issue 18 item 3).
      {
        type: "delta",
        content: {
          kind: "progress",
          step: 1,
          usage: { inputTokens: 40, outputTokens: 10 },
          cost: { usd: 0.00006 },
        },
      },
      // Checkpoints (issue 18 item 4): the turn that called the tool, then its result — what a retry
      // resumes after (the conversation so far).
      {
        type: "delta",
        content: { kind: "checkpoint", step: 1, state: expect.objectContaining({ turns: 1 }) },
      },
      {
        type: "delta",
        content: {
          kind: "tool_result",
          toolCallId: "call_e2e",
          name: "calculator",
          result: { expression: "6 * 7", result: 42 },
        },
      },
      {
        type: "delta",
        content: {
          kind: "checkpoint",
          step: 2,
          state: expect.objectContaining({
            messages: [
              expect.objectContaining({ role: "assistant" }),
              {
                role: "tool",
                content: [
                  {
                    type: "tool-result",
                    toolCallId: "call_e2e",
                    toolName: "calculator",
                    output: { type: "json", value: { expression: "6 * 7", result: 42 } },
                  },
                ],
              },
            ],
          }),
        },
      },
      { type: "status", content: { state: "running", attempt: 1, step: 2, total: 8 } },
      { type: "token", content: "6 × 7 " },
      { type: "token", content: "is " },
      { type: "token", content: "42." },
      {
        type: "delta",
        content: {
          kind: "progress",
          step: 2,
          usage: { inputTokens: 100, outputTokens: 13 },
          cost: { usd: 0.000126 },
        },
      },
      {
        type: "done",
        content: {
          finishReason: "stop",
          stopReason: "stop",
          usage: { inputTokens: 100, outputTokens: 13 },
          cost: { usd: 0.000126 },
          output: { text: "6 × 7 is 42.", model: MODEL, steps: 2 },
        },
      },
    ]);
    // Every event is the run's, replayable, and numbered without a gap.
    expect(events.every((e) => e.runId === runId && e.threadId === threadId && e.id)).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // The worker spoke chat.completions to the base URL: model, streaming with usage, the tools.
    const requests = llm.requests.slice(-2);
    expect(requests.map((r) => r.path)).toEqual(["/v1/chat/completions", "/v1/chat/completions"]);
    expect(requests[0]?.body).toMatchObject({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("a cancel mid-stream closes the LLM connection and no token follows the cancellation", async () => {
    const pieces = Array.from({ length: 400 }, (_, i) => `w${i} `);
    llm.enqueue(openAiTextReply(pieces, { model: MODEL, frameDelayMs: 10 }));
    const threadId = uniqueId("llm");
    const conn = await watch(threadId);
    const responsesBefore = llm.responses.length;
    const runId = await enqueue(threadId, { prompt: "count slowly" });
    await conn.waitFor((c) => c.json<ThreadEvent>().filter((e) => e.type === "token").length >= 5, 30_000);
    const cancel = await fetch(`${topology.apis[0]!.url}/v1/threads/${threadId}/runs/${runId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(cancel.status).toBe(202);
    await conn.waitFor(untilDone, 30_000);

    const events = conn.json<ThreadEvent>();
    const cancelledAt = events.findIndex((e) => e.type === "status" && e.content.state === "cancelled");
    expect(cancelledAt).toBeGreaterThan(0);
    expect(events.slice(cancelledAt + 1).map((e) => e.type)).toEqual(["done"]);
    expect(events.at(-1)?.content).toMatchObject({ finishReason: "cancelled" });
    const response = llm.responses[responsesBefore];
    await expect(response?.closed).resolves.toEqual({ early: true });
    expect(response?.framesWritten).toBeLessThan(pieces.length);
  });

  it("a cancel mid-tool-call (arguments still streaming) ends the run cancelled, with no args and no result", async () => {
    const fragments = Array.from({ length: 300 }, (_, i) => (i === 0 ? '{"expression": "1' : " + 1"));
    llm.enqueue({
      kind: "sse",
      frameDelayMs: 10,
      frames: new OpenAiStream(undefined, MODEL)
        .role()
        .toolCall(0, "call_slow", "calculator")
        .toolArgs(0, ...fragments, '"}')
        .finish("tool_calls")
        .usage(5, 5)
        .done()
        .frames(),
    });
    const threadId = uniqueId("llm");
    const conn = await watch(threadId);
    const requestsBefore = llm.requests.length;
    const runId = await enqueue(threadId, { prompt: "add slowly" });
    const argsDeltas = (c: SseConnection) =>
      c.json<ThreadEvent>().filter((e) => e.type === "delta" && "argsDelta" in e.content).length;
    await conn.waitFor((c) => argsDeltas(c) >= 3, 30_000);
    const cancel = await fetch(`${topology.apis[0]!.url}/v1/threads/${threadId}/runs/${runId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(cancel.status).toBe(202);
    await conn.waitFor(untilDone, 30_000);

    const events = conn.json<ThreadEvent>();
    expect(events.slice(-2).map((e) => [e.type, e.content])).toEqual([
      ["status", expect.objectContaining({ state: "cancelled" })],
      ["done", { finishReason: "cancelled" }],
    ]);
    const deltas = events.filter((e) => e.type === "delta").map((e) => e.content as Record<string, unknown>);
    expect(deltas.some((d) => "args" in d || d.kind === "tool_result")).toBe(false);
    expect(llm.requests.length - requestsBefore).toBe(1);
  });

  it("the API refuses a run of the unconfigured anthropic agent, naming the variable to set", async () => {
    const { status, body } = await startRun(uniqueId("llm"), "anthropic", { prompt: "hi" });
    expect(status).toBe(400);
    expect(body).toMatchObject({
      error: { code: "AGENT_UNAVAILABLE", message: expect.stringContaining("set ANTHROPIC_API_KEY") },
    });
  });

  it("remembers: a second run on a thread sends the first run's turn to the model before its prompt", async () => {
    const threadId = uniqueId("mem");
    llm.enqueue(openAiTextReply(["Paris ", "is the capital."], { model: MODEL }));
    const first = await watch(threadId);
    await enqueue(threadId, { prompt: "What is the capital of France?" });
    await first.waitFor(untilDone, 20_000);
    const lastId = first.json<ThreadEvent>().at(-1)?.id ?? "0";
    first.close();
    // The first run's record is final before the second run reads the thread's memory.
    await expect
      .poll(async () => {
        const res = await fetch(`${topology.apis[0]!.url}/v1/threads/${threadId}/runs`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        return ((await res.json()) as { runs: { status: string }[] }).runs[0]?.status;
      })
      .toBe("completed");

    llm.enqueue(openAiTextReply(["Rome."], { model: MODEL }));
    const before = llm.requests.length;
    // `until=done` ends at the next done: resume after the first run's.
    const url = `${topology.gateways[0]!.url}/v1/threads/${threadId}/events?after=${lastId}&until=done`;
    const second = await openSse(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    await enqueue(threadId, { prompt: "And of Italy?" });
    await second.waitFor(untilDone, 20_000);
    second.close();
    const request = llm.requests[before]?.body as { messages: { role: string; content: unknown }[] };
    const turns = request.messages
      .filter((m) => m.role !== "system")
      .map((m) => ({ role: m.role, text: JSON.stringify(m.content) }));
    expect(turns).toEqual([
      { role: "user", text: expect.stringContaining("What is the capital of France?") },
      { role: "assistant", text: expect.stringContaining("Paris is the capital.") },
      { role: "user", text: expect.stringContaining("And of Italy?") },
    ]);
  }, 60_000);
});
