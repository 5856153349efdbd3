import { signDevToken } from "@threadline/auth";
import { createThreadlineClient, type ThreadlineClient } from "@threadline/client";
import { createThreadlineChatTransport } from "@threadline/client/ai-sdk";
import { DEV_JWT_SECRET } from "@threadline/config";
import type { ThreadEvent } from "@threadline/protocol";
import { uniqueId } from "@threadline/testing";
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";

// The AI SDK's own message reader over what Threadline streams, against the real stack: the
// `useChat` transport (client SDK) and the gateway's UI message stream for apps on DefaultChatTransport.
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "ai-sdk-e2e", threads: ["*"], ttlSeconds: 3600 });
let topology: Topology;
let client: ThreadlineClient;

beforeAll(async () => {
  topology = await startTopology({
    gateways: 1,
    apis: 1,
    workers: 1,
    nginx: false,
    envFor: { api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" }, gateway: { SSE_RETRY_MS: "100" } },
  });
  client = createThreadlineClient({
    apiUrl: topology.apis[0]!.url,
    gatewayUrl: topology.gateways[0]!.url,
    getToken: () => TOKEN,
  });
}, 120_000);

afterAll(async () => {
  await topology?.stop();
}, 60_000);

function userMessage(text: string): UIMessage {
  return { id: uniqueId("u"), role: "user", parts: [{ type: "text", text }] };
}

/** The final message the AI SDK builds from a chunk stream (and every chunk, for the record). */
async function readMessage(stream: ReadableStream<UIMessageChunk>) {
  const chunks: UIMessageChunk[] = [];
  const recorded = stream.pipeThrough(
    new TransformStream<UIMessageChunk, UIMessageChunk>({
      transform(chunk, controller) {
        // A copy: the SDK's reader keeps data chunks as message parts and updates them in place.
        chunks.push(structuredClone(chunk));
        controller.enqueue(chunk);
      },
    }),
  );
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream: recorded, terminateOnError: true }))
    last = message;
  return { message: last, chunks };
}

/** The run's events from the log (the API's history page). */
async function runEvents(threadId: string, runId: string): Promise<ThreadEvent[]> {
  const page = await client.thread(threadId).history({ limit: 1000 });
  return page.events.filter((e) => e.runId === runId);
}

const answerOf = (events: ThreadEvent[]) =>
  events.flatMap((e) => (e.type === "token" ? [e.content] : [])).join("");

describe("useChat transport on Threadline (real stack, the AI SDK's readUIMessageStream)", () => {
  it("sends the chat as a demo run and streams it back as one assistant message", async () => {
    const threadId = uniqueId("chat");
    const transport = createThreadlineChatTransport({ client });
    const stream = await transport.sendMessages({
      trigger: "submit-message",
      chatId: threadId,
      messageId: undefined,
      messages: [userMessage("Tell me about resumable streams")],
      abortSignal: undefined,
    });
    const { message, chunks } = await readMessage(stream);

    const [run] = await client.runs.list(threadId, { limit: 1 });
    expect(run?.status).toBe("completed");
    const events = await runEvents(threadId, run!.runId);
    expect(message?.id).toBe(run!.runId);
    expect(message?.role).toBe("assistant");
    const text = message?.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
    expect(text).toBe(answerOf(events));
    expect(text?.length).toBeGreaterThan(20);
    // The demo's two tools, each with its input and output, in the order it called them.
    const tools = message?.parts.filter((p) => p.type === "dynamic-tool") ?? [];
    expect(tools.map((t) => [t.toolName, t.state])).toEqual([
      ["word_count", "output-available"],
      ["calculator", "output-available"],
    ]);
    expect(message?.parts.filter((p) => p.type === "step-start")).toHaveLength(3);
    expect(message?.parts.find((p) => p.type === "data-threadline-status")).toMatchObject({
      data: { state: "completed" },
    });
    expect(message?.metadata).toMatchObject({ threadline: { runId: run!.runId, finishReason: "stop" } });
    expect(chunks[0]).toEqual({ type: "start", messageId: run!.runId });
    expect(chunks.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });
  });

  it("a follow-up turn is a new run of the thread that answers the last user message", async () => {
    const threadId = uniqueId("chat");
    const transport = createThreadlineChatTransport({ client });
    const first = await readMessage(
      await transport.sendMessages({
        trigger: "submit-message",
        chatId: threadId,
        messageId: undefined,
        messages: [userMessage("First question")],
        abortSignal: undefined,
      }),
    );
    const second = await readMessage(
      await transport.sendMessages({
        trigger: "submit-message",
        chatId: threadId,
        messageId: undefined,
        messages: [userMessage("First question"), first.message!, userMessage("Second question")],
        abortSignal: undefined,
      }),
    );
    expect(second.message?.id).not.toBe(first.message?.id);
    const runs = await client.runs.list(threadId);
    expect(runs).toHaveLength(2);
    expect(runs.map((r) => r.status)).toEqual(["completed", "completed"]);
    // The demo quotes the prompt it answers (the last user message) and, remembering the thread's
    // earlier turn, the question before it — only as that memory.
    const text = second.message?.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("") ?? "";
    expect(text).toContain("Second question");
    expect(text).toContain('Earlier you asked "First question"');
    expect(text.split("First question")).toHaveLength(2);
  });

  it("reconnectToStream replays the run in progress from its start; null once nothing runs", async () => {
    const threadId = uniqueId("chat");
    const transport = createThreadlineChatTransport({ client });
    const created = await client.runs.create(threadId, {
      input: { prompt: "A slower answer to reconnect to", tokensPerSecond: 40, maxTokens: 120 },
    });
    // Let part of the answer stream first, as before a page reload.
    await expect
      .poll(async () => answerOf(await runEvents(threadId, created.runId)).length, { timeout: 20_000 })
      .toBeGreaterThan(10);
    const stream = await transport.reconnectToStream({ chatId: threadId });
    expect(stream).not.toBeNull();
    const { message, chunks } = await readMessage(stream!);
    const events = await runEvents(threadId, created.runId);
    expect(message?.id).toBe(created.runId);
    expect(message?.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("")).toBe(
      answerOf(events),
    );
    expect(chunks.filter((c) => c.type === "start")).toHaveLength(1);
    expect(await transport.reconnectToStream({ chatId: threadId })).toBeNull();
    expect(await transport.reconnectToStream({ chatId: uniqueId("empty") })).toBeNull();
  });

  it("aborting the stream (useChat's stop) cancels the run", async () => {
    const threadId = uniqueId("chat");
    const transport = createThreadlineChatTransport({ client });
    const controller = new AbortController();
    const stream = await transport.sendMessages({
      trigger: "submit-message",
      chatId: threadId,
      messageId: undefined,
      messages: [userMessage("A long answer to stop")],
      abortSignal: controller.signal,
    });
    const reader = stream.getReader();
    let chunk = await reader.read();
    while (!chunk.done && chunk.value.type !== "text-delta") chunk = await reader.read();
    controller.abort();
    const [run] = await client.runs.list(threadId, { limit: 1 });
    await expect.poll(async () => (await client.runs.get(threadId, run!.runId)).status).toBe("cancelled");
    const events = await runEvents(threadId, run!.runId);
    expect(events.at(-1)).toMatchObject({ type: "done", content: { finishReason: "cancelled" } });
    // Only chunks the stream had already queued before the abort may still come out; then it ends
    // (it does not go on streaming the answer).
    let drained = 0;
    while (!(await reader.read()).done) drained++;
    expect(drained).toBeLessThan(5);
  });
});

/** DefaultChatTransport (the SDK's own HTTP transport and parser) reconnecting to the gateway's ui-stream. */
function defaultTransport(query = "") {
  return new DefaultChatTransport<UIMessage>({
    prepareReconnectToStreamRequest: ({ id }) => ({
      api: `${topology.gateways[0]!.url}/v1/threads/${id}/ui-stream${query}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    }),
  });
}

/** The raw ui-stream: response, and its SSE frames as `{ id?, data }`. */
async function rawUiStream(threadId: string, query: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${topology.gateways[0]!.url}/v1/threads/${threadId}/ui-stream${query}`, {
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
  });
  const body = await res.text();
  const frames = body
    .split("\n\n")
    .filter((f) => f.includes("data: "))
    .map((f) => ({
      id: /^id: (.*)$/m.exec(f)?.[1],
      data: /^data: (.*)$/m.exec(f)?.[1] ?? "",
    }));
  return { res, body, frames };
}

describe("GET /v1/threads/:threadId/ui-stream (the gateway's UI message stream)", () => {
  it("rebuilds, through DefaultChatTransport and readUIMessageStream, the same message the transport did", async () => {
    const threadId = uniqueId("ui");
    const sent = await readMessage(
      await createThreadlineChatTransport({ client }).sendMessages({
        trigger: "submit-message",
        chatId: threadId,
        messageId: undefined,
        messages: [userMessage("Compare both ends")],
        abortSignal: undefined,
      }),
    );
    const runId = sent.message!.id;
    const replayed = await readMessage(
      (await defaultTransport(`?runId=${runId}`).reconnectToStream({ chatId: threadId }))!,
    );
    expect(replayed.message).toEqual(sent.message);
    expect(replayed.chunks).toEqual(sent.chunks);

    const { res, body, frames } = await rawUiStream(threadId, `?runId=${runId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(frames.slice(0, -1).map((f) => JSON.parse(f.data))).toEqual(sent.chunks);

    // Resuming after an event id sends exactly what followed it, whether asked by header or query.
    const cut = frames.findIndex((f, i) => f.id !== undefined && i > frames.length / 2);
    const after = frames[cut]!.id!;
    const rest = frames.slice(cut + 1).map((f) => f.data);
    expect(
      (await rawUiStream(threadId, `?runId=${runId}`, { "last-event-id": after })).frames.map((f) => f.data),
    ).toEqual(rest);
    expect((await rawUiStream(threadId, `?runId=${runId}&after=${after}`)).frames.map((f) => f.data)).toEqual(
      rest,
    );
  });

  it("without runId: the run in progress from its start; 204 once nothing runs or nothing ever ran", async () => {
    const threadId = uniqueId("ui");
    const created = await client.runs.create(threadId, {
      input: { prompt: "Stream me to a default transport", tokensPerSecond: 40, maxTokens: 120 },
    });
    await expect
      .poll(async () => answerOf(await runEvents(threadId, created.runId)).length, { timeout: 20_000 })
      .toBeGreaterThan(10);
    const stream = await defaultTransport().reconnectToStream({ chatId: threadId });
    const { message } = await readMessage(stream!);
    expect(message?.id).toBe(created.runId);
    const text = message?.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
    expect(text).toBe(answerOf(await runEvents(threadId, created.runId)));

    expect(await defaultTransport().reconnectToStream({ chatId: threadId })).toBeNull();
    expect(await defaultTransport().reconnectToStream({ chatId: uniqueId("never") })).toBeNull();
  });

  it("snapshot=1: a late joiner gets the run so far in one delta per part, then live — the same message", async () => {
    const threadId = uniqueId("ui");
    const created = await client.runs.create(threadId, {
      input: { prompt: "Join me late", tokensPerSecond: 60, maxTokens: 200 },
    });
    await expect
      .poll(async () => answerOf(await runEvents(threadId, created.runId)).length, { timeout: 20_000 })
      .toBeGreaterThan(60);
    const query = `?runId=${created.runId}&snapshot=1`;
    const joined = await rawUiStream(threadId, query);
    expect(joined.res.status).toBe(200);
    const events = await runEvents(threadId, created.runId);
    const chunks = joined.frames.slice(0, -1).map((f) => JSON.parse(f.data) as UIMessageChunk);
    // The text so far came as ONE delta (the live tokens after it one by one): fewer frames than tokens.
    const textDeltas = chunks.filter((c) => c.type === "text-delta");
    expect(textDeltas[0]?.delta.length).toBeGreaterThan(60);
    expect(textDeltas.length).toBeLessThan(events.filter((e) => e.type === "token").length);
    // The AI SDK builds the same message as from the full replay.
    const full = await readMessage(
      (await defaultTransport(`?runId=${created.runId}`).reconnectToStream({ chatId: threadId }))!,
    );
    const late = await readMessage((await defaultTransport(query).reconnectToStream({ chatId: threadId }))!);
    expect(late.message).toEqual(full.message);
    expect(late.chunks.length).toBeLessThan(full.chunks.length);
    console.info(
      `[ui-stream] snapshot=1 after the run: ${late.chunks.length} chunks instead of ${full.chunks.length}, the same message`,
    );
    // The snapshot's last chunk carries the id of the last event it folded: resuming there sends the rest.
    const snapshotEnd = joined.frames.findIndex((f) => f.id !== undefined);
    const resumed = await rawUiStream(threadId, query, { "last-event-id": joined.frames[snapshotEnd]!.id! });
    expect(resumed.frames.map((f) => f.data)).toEqual(
      joined.frames.slice(snapshotEnd + 1).map((f) => f.data),
    );

    const bad = await rawUiStream(threadId, `?runId=${created.runId}&snapshot=yes`);
    expect(bad.res.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({
      error: { code: "INVALID_QUERY", details: [{ field: "snapshot" }] },
    });
  });

  it("answers 401 without a token, 404 for an unknown run, 400 for a bad Last-Event-ID", async () => {
    const threadId = uniqueId("ui");
    const url = `${topology.gateways[0]!.url}/v1/threads/${threadId}/ui-stream`;
    expect((await fetch(url)).status).toBe(401);
    const unknown = await rawUiStream(threadId, "?runId=no-such-run");
    expect(unknown.res.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: "RUN_NOT_FOUND" } });
    const bad = await rawUiStream(threadId, "?runId=x", { "last-event-id": "nope" });
    expect(bad.res.status).toBe(400);
  });
});
