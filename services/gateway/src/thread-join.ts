import { type DeltaEvent, isTerminal, STREAM_ERROR_CODES, type ThreadEvent } from "@threadline/protocol";
import { LOG_START } from "@threadline/redis";
import { createSnapshotFold, type SnapshotFold } from "./snapshot-fold.js";
import { inScope, matchesFilter, type StreamFilter } from "./stream-filter.js";

/** How a client joins one thread: where from, through which filter, with a snapshot or not. */
export interface JoinRequest {
  /** The thread's resume position (Last-Event-ID, `after`, a vector's entry). Undefined: none. */
  resumeFrom: string | undefined;
  /** `types=`, `runId=`, `agent=`: only matching events are delivered (replay and live alike). */
  filter?: StreamFilter;
  /** `snapshot=1`: without a resume position, the log is folded into one `snapshot` delta. */
  snapshot?: boolean;
}

/** What a transport does with one event of the thread's feed. */
export interface JoinVerdict {
  /** Send it to the client (false: filtered out, or folded into the snapshot). */
  deliver: boolean;
  /** It ends the followed run (`runId=`'s, else any), delivered or not: `until=done` stops here. */
  ends: boolean;
}

export interface ThreadJoin {
  /** Where the thread's feed starts: the whole log for a snapshot join, else the resume position. */
  readonly feedFrom: string | undefined;
  /** A snapshot join: the feed needs no live-only start (it reads the whole log). */
  readonly snapshot: boolean;
  accept(event: ThreadEvent, source: "live" | "replay"): JoinVerdict;
  /**
   * At the feed's first catch-up of a snapshot join: the snapshot (its `id` the last log entry folded,
   * so resuming after it loses nothing), and whether its run is over. Undefined otherwise.
   */
  caughtUp(threadId: string): { event: DeltaEvent; json: string; finished: boolean } | undefined;
}

// Shared, frozen verdicts: accept runs once per delivery, so it allocates nothing.
const VERDICTS = {
  deliver: Object.freeze({ deliver: true, ends: false }),
  deliverEnds: Object.freeze({ deliver: true, ends: true }),
  skip: Object.freeze({ deliver: false, ends: false }),
  skipEnds: Object.freeze({ deliver: false, ends: true }),
} satisfies Record<string, JoinVerdict>;
const FOLDED = VERDICTS.skip;

/**
 * Filters and snapshot joins — one definition for every stream route (single-thread SSE, multiplexed
 * SSE, WebSocket). Applied where a thread feed meets its transport, the one place replay and live both
 * pass, so every delivered event keeps its log id and a resume id replays through the same filter.
 * A request with a resume position gets a plain resume: the snapshot is for joining, not for
 * reconnecting. THREAD_DELETED is never filtered nor folded: the thread's streams end on it.
 */
export function createThreadJoin(request: JoinRequest, now: () => number): ThreadJoin {
  const { filter } = request;
  let fold: SnapshotFold | undefined =
    request.snapshot && request.resumeFrom === undefined ? createSnapshotFold(filter, now) : undefined;
  const snapshot = fold !== undefined;

  return {
    feedFrom: snapshot ? LOG_START : request.resumeFrom,
    snapshot,
    accept(event, source) {
      const deleted = isThreadDeleted(event);
      // The first replay of a snapshot join (the whole log) is folded, not sent.
      if (fold && source === "replay" && !deleted) {
        fold.add(event);
        return FOLDED;
      }
      const ends = isTerminal(event) && inScope({ runId: filter?.runId }, event);
      const deliver = deleted || !filter || matchesFilter(filter, event);
      if (deliver) return ends ? VERDICTS.deliverEnds : VERDICTS.deliver;
      return ends ? VERDICTS.skipEnds : VERDICTS.skip;
    },
    caughtUp(threadId) {
      if (!fold) return undefined;
      const event = fold.event(threadId, now());
      fold = undefined;
      const run = event.content.run as { finished?: boolean } | undefined;
      return { event, json: JSON.stringify(event), finished: run?.finished === true };
    },
  };
}

/** The API's last word on a thread it deleted (`DELETE /v1/threads/:id`): nothing of it follows. */
export function isThreadDeleted(event: ThreadEvent): boolean {
  return event.type === "error" && event.content.code === STREAM_ERROR_CODES.threadDeleted;
}
