import { EventId } from "./ids.js";
import { sha256Hex } from "./sha256.js";

/**
 * The SSE `id:` of a multiplexed stream (`GET /v1/events?threads=…`): where every thread of the
 * connection stands, so a native EventSource's automatic `Last-Event-ID` resumes each thread exactly
 * where it stopped. Encoding (see docs/ARCHITECTURE.md, `GET /v1/events`):
 *
 *   m1.<tag>.<p1>.<p2>…        one position per thread, in the order of `?threads=`
 *   tag = first 8 hex digits of sha256 of the `threads` list joined by ","
 *   p   = "0" (the log's start) | <ms in base 36>[-<seq in decimal>] ("-0" is left out)
 *       | "" (no position: live only, from the log's tail when the gateway subscribes)
 *
 * The tag binds a vector to its thread list: a vector sent with a different list (or order) is
 * refused instead of resuming the wrong threads from the wrong places. Base 36 for the millisecond
 * part keeps 100 positions near 1 KiB; the sequence stays decimal so it round-trips exactly. The gateway
 * only ever sends full vectors; the empty position lets the SDK's SSE fallback of `watch` reopen with a
 * new list that keeps the positions it holds and adds threads live.
 */
export const VECTOR_VERSION = "m1";
/** The log's start as a resume position (`after=0`). */
const LOG_START = "0";
const ENTRY = /^(?:|0|[0-9a-z]{1,11}(?:-[0-9]{1,20})?)$/;

export function vectorTag(threads: readonly string[]): string {
  return sha256Hex(threads.join(",")).slice(0, 8);
}

function encodePosition(id: string | undefined): string {
  if (id === undefined) return "";
  if (id === LOG_START) return "0";
  const [ms = "0", seq = "0"] = id.split("-");
  const head = Number(ms).toString(36);
  return seq === "0" ? head : `${head}-${seq}`;
}

/** A log id, or `undefined` for the empty (live) position; `false` when the entry is malformed. */
function decodePosition(entry: string): string | undefined | false {
  if (!ENTRY.test(entry)) return false;
  if (entry === "") return undefined;
  if (entry === "0") return LOG_START;
  const [head = "", seq = "0"] = entry.split("-");
  const ms = Number.parseInt(head, 36);
  if (!Number.isSafeInteger(ms)) return false;
  const id = `${ms}-${seq}`;
  return EventId.safeParse(id).success ? id : false;
}

/** Encodes the positions of `threads` (same order); `undefined` is a live-only thread. */
export function encodeVector(tag: string, positions: readonly (string | undefined)[]): string {
  return `${VECTOR_VERSION}.${tag}.${positions.map(encodePosition).join(".")}`;
}

export type DecodedVector = { ok: true; positions: (string | undefined)[] } | { ok: false; reason: string };

/** Decodes a vector for `threads`; every failure says what is wrong, for the 400. */
export function decodeVector(value: string, threads: readonly string[]): DecodedVector {
  const parts = value.split(".");
  if (parts[0] !== VECTOR_VERSION || parts.length < 3) {
    return { ok: false, reason: `a position vector starts with "${VECTOR_VERSION}.<tag>."` };
  }
  if (parts[1] !== vectorTag(threads)) {
    return { ok: false, reason: "the vector was issued for a different ?threads= list (or order)" };
  }
  const entries = parts.slice(2);
  if (entries.length !== threads.length) {
    return { ok: false, reason: `the vector has ${entries.length} positions for ${threads.length} threads` };
  }
  const positions: (string | undefined)[] = [];
  for (const entry of entries) {
    const id = decodePosition(entry);
    if (id === false) return { ok: false, reason: `"${entry.slice(0, 40)}" is not a position` };
    positions.push(id);
  }
  return { ok: true, positions };
}
