import type { ThreadEvent } from "./events.js";

/**
 * The version of the stream protocol (SSE framing and names) the gateway speaks, sent as the
 * `Threadline-Protocol` response header. The changelog is in docs/ARCHITECTURE.md ("Stream protocol
 * versions"). 2: frames of `type: "error"` are no longer named `error`, `?format=message`.
 */
export const STREAM_PROTOCOL_VERSION = 2;
export const STREAM_PROTOCOL_HEADER = "threadline-protocol";

/**
 * SSE event names that are not the event's `type`. `error` is the name browsers give their own
 * connection errors (EventSource fires `error` on every disconnect), so no frame may use it: a thread's
 * error events (a run failed; they are in the replay log) are `run-error`, the gateway's own notices
 * about the stream (REPLAY_TRUNCATED, TOKEN_EXPIRED, REPLAY_FAILED; not in the log) are `stream-error`.
 * The JSON keeps `type: "error"` in both.
 */
export const SSE_EVENT_NAMES = { runError: "run-error", streamError: "stream-error" } as const;

/**
 * `named` (default): `event: <name>` lines, for `addEventListener(name)`. `message` (`?format=message`):
 * no `event:` line, so EventSource's `onmessage` receives every frame; page code reads `type` from the JSON.
 */
export type SseFraming = "named" | "message";

/** The SSE event name of a thread event (see SSE_EVENT_NAMES). */
export function sseEventName(event: Pick<ThreadEvent, "type">): string {
  return event.type === "error" ? SSE_EVENT_NAMES.runError : event.type;
}

/**
 * Frames one event for Server-Sent Events: `id:` (when it has one), `event: <name>` (unless the framing is
 * `message`), `data: <json>`. `json` lets callers pass the exact bytes they received; a multi-line payload
 * (a pretty-printed hand-published event) becomes several `data:` lines, which SSE parsers join back
 * with "\n". `name` overrides the event name (the gateway's `stream-error` notices).
 */
export function encodeSse(
  event: Pick<ThreadEvent, "type" | "id">,
  json: string = JSON.stringify(event),
  framing: SseFraming = "named",
  name: string = sseEventName(event),
): string {
  const head = event.id === undefined ? "" : `id: ${event.id}\n`;
  const data = json.includes("\n") || json.includes("\r") ? json.split(/\r\n|\r|\n/).join("\ndata: ") : json;
  return framing === "message" ? `${head}data: ${data}\n\n` : `${head}event: ${name}\ndata: ${data}\n\n`;
}

/**
 * An id with no data: EventSource sets its `lastEventId` (sent as Last-Event-ID on reconnect) without
 * firing an event. A live-only stream starts with one, so a client that drops before its first
 * event still resumes from where it joined.
 */
export function encodeSsePosition(id: string): string {
  return `id: ${id.replace(/[\r\n]+/g, "")}\n\n`;
}

/** The reconnection delay hint a stream starts with. */
export function encodeSseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

/** A comment line: ignored by parsers, keeps proxies and half-open detection honest. */
export function encodeSseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, " ")}\n\n`;
}

export const SSE_KEEPALIVE = encodeSseComment("keepalive");
