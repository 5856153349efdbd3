import type { TokenEvent } from "./events.js";
import { EVENT_ID_PATTERN, ID_PATTERN } from "./ids.js";

const TOKEN_EVENT_KEYS = new Set(["id", "seq", "type", "threadId", "runId", "ts", "content"]);

/**
 * The hot path of channel-message validation: a complete `token` event, the shape the publish script
 * gives nearly every message, checked by hand. Returns the object itself when the `ThreadEvent` schema
 * would accept it unchanged (no missing, extra or invalid field), else undefined and zod decides —
 * so junk is still judged, and explained, by the schema. zod cost ~1 µs per message on the
 * gateway's hot path (issue 16); `complete-token-event.test.ts` holds this to the schema.
 */
export function completeTokenEvent(event: Record<string, unknown>, threadId: string): TokenEvent | undefined {
  if (event.type !== "token" || typeof event.content !== "string" || event.threadId !== threadId) {
    return undefined;
  }
  const { ts, seq, id, runId } = event;
  if (typeof ts !== "number" || !Number.isSafeInteger(ts) || ts < 0) return undefined;
  if (seq !== undefined && (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1)) {
    return undefined;
  }
  if (id !== undefined && (typeof id !== "string" || !EVENT_ID_PATTERN.test(id))) return undefined;
  if (runId !== undefined && (typeof runId !== "string" || !ID_PATTERN.test(runId))) return undefined;
  for (const key in event) if (!TOKEN_EVENT_KEYS.has(key)) return undefined;
  return event as TokenEvent;
}
