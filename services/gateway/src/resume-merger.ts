import type { ThreadEvent } from "@threadline/protocol";
import { compareIds, LOG_START } from "@threadline/redis";

/** A message received live on the thread's channel, already parsed. */
export interface LiveMessage {
  event: ThreadEvent;
  /** The exact JSON received; script-published messages are byte-identical to their log entry. */
  json: string;
  /** Its size on the wire, counted against the buffer budget while it is held back. */
  bytes: number;
}

/** One page of the replay log, the answer to a `read` request. */
export interface ReplayPage {
  entries: { id: string; json: string }[];
  /** The requested position is not in the log: events after it may be missing. */
  truncated: boolean;
  more: boolean;
  /** The JSON of the entry AT the requested position, when it is in the log. */
  anchor?: string;
}

/** What the merger asks of its driver; it never does I/O itself. */
export interface MergerSink {
  /** Send this event to the client, in this order. `event` is set for live messages only. */
  send(delivery: Delivery): void;
  /** Events after `after` are gone from the log (REPLAY_TRUNCATED); everything retained follows. */
  gap(after: string): void;
  /** Read the log after `after` (inclusive of `after` itself, as `anchor`) and answer with `page()`. */
  read(after: string): void;
  /** Replay (if any) is over and live messages flow from here: called before the held ones are sent. */
  caughtUp?(): void;
}

export type Delivery =
  | { source: "live"; id: string | undefined; json: string; event: ThreadEvent }
  | { source: "replay"; id: string; json: string };

export interface ResumeMergerOptions {
  /** Last-Event-ID / `?after`: replay after it first. Undefined: live only. */
  resumeFrom: string | undefined;
  /** How many recent live deliveries are kept as backfill start candidates. */
  recentCapacity?: number;
}

export interface ResumeMerger {
  /**
   * Call once the subscription is confirmed: replays after `resumeFrom`, or goes live after `liveFrom`
   * (for live-only streams: the log tail read before subscribing).
   */
  start(liveFrom: string): void;
  live(message: LiveMessage): void;
  /** The subscriber connection dropped: buffer live messages until the backfill after `restored`. */
  lost(): void;
  /** The subscription is live again: backfill what pub/sub lost from the log. */
  restored(): void;
  /** The answer to the last `read`. */
  page(page: ReplayPage): void;
  /** True while live messages are held back (replaying, or waiting for the subscription). */
  readonly buffering: boolean;
  /** Bytes of live messages held back: part of the transport's buffer budget. */
  readonly pendingBytes: number;
  /** The log position everything up to which was delivered (for logs). */
  readonly position: string | undefined;
}

const DEFAULT_RECENT = 16;

/**
 * Merges one thread's live messages with its replay log into one ordered, de-duplicated sequence:
 * no I/O, no clock, no sockets; a driver feeds it inputs and carries out what it asks (`MergerSink`).
 * One merger per thread, so a connection that multiplexes threads holds one per thread.
 *
 * The de-duplication floor (`verified`) only ever comes from the log: a live message can never raise
 * it, so a hand-published message carrying a forged id (say, a future one) cannot make later events
 * look like duplicates. Live ids are only *candidates* for where a backfill after a subscriber
 * reconnect starts: the backfill reads the log at the candidate and starts there only if the entry
 * at that id is byte-identical to what was delivered; otherwise it tries the next older candidate, and
 * in the end `verified`. Live messages are never compared against the log on the hot path.
 */
export function createResumeMerger(options: ResumeMergerOptions, sink: MergerSink): ResumeMerger {
  const recentCapacity = options.recentCapacity ?? DEFAULT_RECENT;
  /** Every log entry up to here was delivered (or is gone: REPLAY_TRUNCATED). Only the log moves it. */
  let verified: string | undefined = options.resumeFrom;
  /** The latest live deliveries with an id (a ring, in delivery order): backfill start candidates. */
  const recent = createRecentLive(recentCapacity);
  let pending: LiveMessage[] = [];
  let pendingBytes = 0;
  let buffering = true;
  /** Between `lost()` and `restored()`: pub/sub may be dropping messages, so never go live. */
  let subscriberDown = false;
  /** A read is outstanding: the driver will call `page()`. */
  let reading = false;
  /** The subscription was restored during a read: read once more from `verified` when it ends. */
  let readAgain = false;
  /** Candidates still to try (newest first); the head is the position being read. */
  let probes: { id: string; json: string | string[] }[] = [];

  const read = (after: string) => {
    reading = true;
    sink.read(after);
  };

  const deliverLive = (message: LiveMessage) => {
    const { id } = message.event;
    if (id !== undefined) {
      // Replayed already, or the very bytes delivered a moment ago: both true duplicates.
      if (verified !== undefined && compareIds(id, verified) <= 0) return;
      if (!recent.remember(id, message.json)) return;
    }
    sink.send({ source: "live", id, json: message.json, event: message.event });
  };

  const goLive = () => {
    const queued = pending;
    pending = [];
    pendingBytes = 0;
    buffering = false;
    sink.caughtUp?.();
    for (const message of queued) deliverLive(message);
  };

  const backfill = () => {
    if (reading) {
      readAgain = true;
      return;
    }
    buffering = true;
    // Newest first; only positions past the floor can save re-reading anything.
    probes = recent.newestFirst().filter((c) => verified === undefined || compareIds(c.id, verified) > 0);
    const first = probes[0];
    read(first ? first.id : (verified ?? LOG_START));
  };

  const replayPage = (page: ReplayPage) => {
    if (page.truncated) {
      sink.gap(verified ?? LOG_START);
      // What follows may be older than the (unknown) position: deliver all of it.
      verified = undefined;
    }
    for (const entry of page.entries) {
      if (verified !== undefined && compareIds(entry.id, verified) <= 0) continue;
      verified = entry.id;
      sink.send({ source: "replay", id: entry.id, json: entry.json });
    }
    if (page.more) return read(verified ?? LOG_START);
    if (readAgain) {
      readAgain = false;
      return read(verified ?? LOG_START);
    }
    // A replay that ends while the subscriber is down stays buffered: `restored()` backfills what
    // pub/sub dropped in between, then goes live (going live now would skip those events).
    if (!subscriberDown) goLive();
  };

  return {
    start(liveFrom) {
      if (options.resumeFrom !== undefined) return read(options.resumeFrom);
      verified = liveFrom;
      goLive();
    },
    live(message) {
      if (!buffering) return deliverLive(message);
      pending.push(message);
      pendingBytes += message.bytes;
    },
    lost() {
      buffering = true;
      subscriberDown = true;
    },
    restored() {
      subscriberDown = false;
      backfill();
    },
    page(page) {
      reading = false;
      const probe = probes.shift();
      if (probe) {
        const held = probe.json;
        const matches = Array.isArray(held) ? held.includes(page.anchor ?? "") : page.anchor === held;
        if (page.truncated || page.anchor === undefined || !matches) {
          // Not what the log holds at that id (a hand-published id): try the next older position.
          const next = probes[0];
          return read(next ? next.id : (verified ?? LOG_START));
        }
        probes = [];
        verified = probe.id;
      }
      replayPage(page);
    },
    get buffering() {
      return buffering;
    },
    get pendingBytes() {
      return pendingBytes;
    },
    get position() {
      return verified;
    },
  };
}

interface RecentLive {
  /**
   * Records a live delivery. False when these very bytes were delivered under this id a moment ago (a
   * true duplicate, not to be sent again).
   */
  remember(id: string, json: string): boolean;
  /** The candidates, most recently recorded first. */
  newestFirst(): { id: string; json: string | string[] }[];
}

/**
 * The merger's backfill candidates: the last `capacity` live ids with the JSON delivered under each.
 * A fixed ring rather than a Map: the common case — an id above every one recorded (script-published
 * ids only grow) — is one comparison and two array stores, with no entry, no iterator and no rehash
 * per delivery; only an id at or below the newest (a duplicate, or a hand-published one) is searched.
 */
function createRecentLive(capacity: number): RecentLive {
  const ids: (string | undefined)[] = new Array(capacity).fill(undefined);
  const jsons: (string | string[] | undefined)[] = new Array(capacity).fill(undefined);
  /** The slot the next new id goes to (the oldest one once the ring is full). */
  let next = 0;
  /** The highest id ever recorded: every id in the ring is at or below it. */
  let highest: string | undefined;

  const record = (id: string, json: string) => {
    ids[next] = id;
    jsons[next] = json;
    next = (next + 1) % capacity;
  };

  return {
    remember(id, json) {
      if (highest === undefined || compareIds(id, highest) > 0) {
        highest = id;
        record(id, json);
        return true;
      }
      const slot = ids.indexOf(id);
      if (slot === -1) {
        record(id, json);
        return true;
      }
      const seen = jsons[slot] as string | string[];
      if (seen === json || (Array.isArray(seen) && seen.includes(json))) return false;
      // Two different messages with one id: one is hand-published (it may even predict a real id).
      // Keep both as candidates: a backfill trusts the id if the log holds either.
      jsons[slot] = [...(Array.isArray(seen) ? seen : [seen]), json].slice(-4);
      return true;
    },
    newestFirst() {
      const out: { id: string; json: string | string[] }[] = [];
      for (let k = 1; k <= capacity; k++) {
        const slot = (next - k + capacity) % capacity;
        const id = ids[slot];
        if (id !== undefined) out.push({ id, json: jsons[slot] as string | string[] });
      }
      return out;
    },
  };
}
