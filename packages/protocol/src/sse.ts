import type { ThreadEvent } from "./events.js";

/**
 * Frames one event for Server-Sent Events: `id:` (when it has one), `event: <type>`, `data: <json>`.
 * `json` lets callers pass the exact bytes they received; a multi-line payload (a pretty-printed
 * hand-published event) becomes several `data:` lines, which SSE parsers join back with "\n".
 */
export function encodeSse(
  event: Pick<ThreadEvent, "type" | "id">,
  json: string = JSON.stringify(event),
): string {
  const head = event.id === undefined ? "" : `id: ${event.id}\n`;
  const data = json.includes("\n") || json.includes("\r") ? json.split(/\r\n|\r|\n/).join("\ndata: ") : json;
  return `${head}event: ${event.type}\ndata: ${data}\n\n`;
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
