import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { openSse, type SseConnection } from "@threadline/testing";

/** A token that may read every thread (the scale tests watch many). */
export const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "scale-tests", threads: ["*"], ttlSeconds: 3600 });
const auth = { authorization: `Bearer ${TOKEN}` };

export interface ReceivedEvent {
  id?: string;
  type: string;
  seq?: number;
  runId?: string;
  content: unknown;
}

/** Starts a demo run through `baseUrl` (nginx or an API) and returns its run id. */
export async function startDemoRun(
  baseUrl: string,
  threadId: string,
  input: { prompt: string; tokensPerSecond?: number; maxTokens?: number },
): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/threads/${threadId}/runs`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ agent: "demo", input }),
  });
  const body = (await res.json()) as { runId?: string };
  if (res.status !== 202 || !body.runId) throw new Error(`POST runs: ${res.status} ${JSON.stringify(body)}`);
  return body.runId;
}

/** Opens the thread's SSE stream the way EventSource does (Accept: text/event-stream). */
export async function openThread(baseUrl: string, threadId: string, query = ""): Promise<SseConnection> {
  const conn = await openSse(`${baseUrl}/v1/threads/${threadId}/events${query}`, { headers: auth });
  if (conn.status !== 200) throw new Error(`SSE ${threadId}: ${conn.status} ${conn.body}`);
  return conn;
}

/** Every event of a thread's replay log, read through the API's JSON page. */
export async function readThreadLog(baseUrl: string, threadId: string): Promise<ReceivedEvent[]> {
  const res = await fetch(`${baseUrl}/v1/threads/${threadId}/events?after=0&limit=1000`, {
    headers: { ...auth, accept: "application/json" },
  });
  const body = (await res.json()) as { events?: ReceivedEvent[] };
  if (res.status !== 200 || !body.events)
    throw new Error(`GET events: ${res.status} ${JSON.stringify(body)}`);
  return body.events;
}

/** Parsed events of one or more connections of a client, in arrival order. */
export function received(...connections: SseConnection[]): ReceivedEvent[] {
  return connections.flatMap((c) => c.json<ReceivedEvent>());
}

/** True once the connection saw its run's `done`. */
export const sawDone = (c: SseConnection) => c.json<ReceivedEvent>().some((e) => e.type === "done");

/**
 * Follows a thread like a resuming client: whenever the stream is cut before `done`, reconnect
 * (through the same URL, so nginx picks an instance) with Last-Event-ID. Returns every connection.
 */
export async function followUntilDone(first: SseConnection, timeoutMs = 30_000): Promise<SseConnection[]> {
  const connections = [first];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = connections[connections.length - 1]!;
    await current
      .waitFor((c) => sawDone(c) || c.closed, Math.max(1, deadline - Date.now()))
      .catch(() => undefined);
    if (sawDone(current)) {
      current.close();
      return connections;
    }
    if (Date.now() > deadline)
      throw new Error(`no done within ${timeoutMs} ms (${connections.length} connections)`);
    connections.push(await reconnectWithRetry(current, deadline));
  }
}

async function reconnectWithRetry(conn: SseConnection, deadline: number): Promise<SseConnection> {
  for (;;) {
    try {
      const next = await conn.reconnect();
      if (next.status === 200) return next;
      if (Date.now() > deadline) throw new Error(`reconnect: ${next.status} ${next.body}`);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
