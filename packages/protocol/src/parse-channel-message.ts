import { completeTokenEvent } from "./complete-token-event.js";
import { CONTENT_SCHEMAS, EventType, type ThreadEvent, ThreadEvent as ThreadEventSchema } from "./events.js";
import { ID_PATTERN } from "./ids.js";

export const CHANNEL_PREFIX = "thread:";
/** Default cap on one channel message; larger ones are dropped, not parsed. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

export type RejectReason =
  | "bad_channel"
  | "too_large"
  | "not_json"
  | "not_object"
  | "unknown_type"
  | "bad_content"
  | "bad_envelope"
  | "thread_mismatch";

export type ParsedMessage =
  | {
      ok: true;
      event: ThreadEvent /** the JSON to forward, byte-identical to the input when complete */;
      json: string;
    }
  | { ok: false; reason: RejectReason; detail: string };

export interface ParseOptions {
  maxBytes?: number;
  now?: () => number;
}

/**
 * Validates a message received on `thread:<id>`. Hand-published events (`redis-cli publish`) may omit
 * `threadId` (taken from the channel) and `ts` (set to now); anything else invalid is rejected with a reason.
 */
export function parseChannelMessage(
  channel: string,
  raw: string | Buffer,
  options: ParseOptions = {},
): ParsedMessage {
  const threadId = channel.startsWith(CHANNEL_PREFIX) ? channel.slice(CHANNEL_PREFIX.length) : "";
  if (!ID_PATTERN.test(threadId))
    return reject("bad_channel", `channel ${preview(channel)} is not thread:<id>`);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
  if (size > maxBytes) return reject("too_large", `${size} bytes, limit ${maxBytes}`);
  const text = typeof raw === "string" ? raw : raw.toString("utf8");

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject("not_json", preview(text));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject("not_object", `got ${Array.isArray(value) ? "array" : typeof value}`);
  }
  const object = value as Record<string, unknown>;
  const token = completeTokenEvent(object, threadId);
  if (token) return { ok: true, event: token, json: text };
  const type = EventType.safeParse(object.type);
  if (!type.success)
    return reject("unknown_type", `type ${preview(JSON.stringify(object.type) ?? "undefined")}`);
  const content = CONTENT_SCHEMAS[type.data].safeParse(object.content);
  if (!content.success) return reject("bad_content", issuesText(content.error.issues));
  if (object.threadId !== undefined && object.threadId !== threadId) {
    return reject("thread_mismatch", `threadId ${preview(String(object.threadId))} on channel ${channel}`);
  }

  const complete = object.threadId !== undefined && object.ts !== undefined;
  const filled = complete ? object : { ...object, threadId, ts: object.ts ?? (options.now ?? Date.now)() };
  const event = ThreadEventSchema.safeParse(filled);
  if (!event.success) return reject("bad_envelope", issuesText(event.error.issues));
  return { ok: true, event: event.data, json: complete ? text : JSON.stringify(filled) };
}

function reject(reason: RejectReason, detail: string): ParsedMessage {
  return { ok: false, reason, detail };
}

function issuesText(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** A short, single-line sample of untrusted input for log lines. */
export function preview(text: string, max = 80): string {
  const flat = text.replace(/[\r\n\t]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max)}…(${text.length} chars)` : flat;
}
