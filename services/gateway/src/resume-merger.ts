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
  return new ThreadMerger(options, sink);
}

/** A class, not a closure: one prototype for every stream's merger (idle memory, BENCHMARKS round 5). */
class ThreadMerger implements ResumeMerger {
  /** Every log entry up to here was delivered (or is gone: REPLAY_TRUNCATED). Only the log moves it. */
  private verified: string | undefined;
  /** The latest live deliveries with an id (a ring, in delivery order): backfill start candidates. */
  private readonly recent: RecentLive;
  private pending: LiveMessage[] = [];
  private heldBytes = 0;
  private isBuffering = true;
  /** Between `lost()` and `restored()`: pub/sub may be dropping messages, so never go live. */
  private subscriberDown = false;
  /** A read is outstanding: the driver will call `page()`. */
  private reading = false;
  /** The subscription was restored during a read: read once more from `verified` when it ends. */
  private readAgain = false;
  /** Candidates still to try (newest first); the head is the position being read. */
  private probes: { id: string; json: string | string[] }[] = [];

  constructor(
    private readonly options: ResumeMergerOptions,
    private readonly sink: MergerSink,
  ) {
    this.verified = options.resumeFrom;
    this.recent = new RecentLive(options.recentCapacity ?? DEFAULT_RECENT);
  }

  get buffering(): boolean {
    return this.isBuffering;
  }

  get pendingBytes(): number {
    return this.heldBytes;
  }

  get position(): string | undefined {
    return this.verified;
  }

  start(liveFrom: string): void {
    if (this.options.resumeFrom !== undefined) {
      this.read(this.options.resumeFrom);
      return;
    }
    this.verified = liveFrom;
    this.goLive();
  }

  live(message: LiveMessage): void {
    if (!this.isBuffering) {
      this.deliverLive(message);
      return;
    }
    this.pending.push(message);
    this.heldBytes += message.bytes;
  }

  lost(): void {
    this.isBuffering = true;
    this.subscriberDown = true;
  }

  restored(): void {
    this.subscriberDown = false;
    this.backfill();
  }

  page(page: ReplayPage): void {
    this.reading = false;
    const probe = this.probes.shift();
    if (probe) {
      const held = probe.json;
      const matches = Array.isArray(held) ? held.includes(page.anchor ?? "") : page.anchor === held;
      if (page.truncated || page.anchor === undefined || !matches) {
        // Not what the log holds at that id (a hand-published id): try the next older position.
        const next = this.probes[0];
        this.read(next ? next.id : (this.verified ?? LOG_START));
        return;
      }
      this.probes = [];
      this.verified = probe.id;
    }
    this.replayPage(page);
  }

  private read(after: string): void {
    this.reading = true;
    this.sink.read(after);
  }

  private deliverLive(message: LiveMessage): void {
    const { id } = message.event;
    if (id !== undefined) {
      // Replayed already, or the very bytes delivered a moment ago: both true duplicates.
      if (this.verified !== undefined && compareIds(id, this.verified) <= 0) return;
      if (!this.recent.remember(id, message.json)) return;
    }
    this.sink.send({ source: "live", id, json: message.json, event: message.event });
  }

  private goLive(): void {
    const queued = this.pending;
    this.pending = [];
    this.heldBytes = 0;
    this.isBuffering = false;
    this.sink.caughtUp?.();
    for (const message of queued) this.deliverLive(message);
  }

  private backfill(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.isBuffering = true;
    const verified = this.verified;
    // Newest first; only positions past the floor can save re-reading anything.
    this.probes = this.recent
      .newestFirst()
      .filter((c) => verified === undefined || compareIds(c.id, verified) > 0);
    const first = this.probes[0];
    this.read(first ? first.id : (verified ?? LOG_START));
  }

  private replayPage(page: ReplayPage): void {
    if (page.truncated) {
      this.sink.gap(this.verified ?? LOG_START);
      // What follows may be older than the (unknown) position: deliver all of it.
      this.verified = undefined;
    }
    for (const entry of page.entries) {
      if (this.verified !== undefined && compareIds(entry.id, this.verified) <= 0) continue;
      this.verified = entry.id;
      this.sink.send({ source: "replay", id: entry.id, json: entry.json });
    }
    if (page.more) {
      this.read(this.verified ?? LOG_START);
      return;
    }
    if (this.readAgain) {
      this.readAgain = false;
      this.read(this.verified ?? LOG_START);
      return;
    }
    // A replay that ends while the subscriber is down stays buffered: `restored()` backfills what
    // pub/sub dropped in between, then goes live (going live now would skip those events).
    if (!this.subscriberDown) this.goLive();
  }
}

/**
 * The merger's backfill candidates: the last `capacity` live ids with the JSON delivered under each.
 * A fixed ring rather than a Map: the common case — an id above every one recorded (script-published
 * ids only grow) — is one comparison and two array stores, with no entry, no iterator and no rehash
 * per delivery; only an id at or below the newest (a duplicate, or a hand-published one) is searched.
 */
class RecentLive {
  private readonly ids: (string | undefined)[];
  private readonly jsons: (string | string[] | undefined)[];
  /** The slot the next new id goes to (the oldest one once the ring is full). */
  private next = 0;
  /** The highest id ever recorded: every id in the ring is at or below it. */
  private highest: string | undefined;

  constructor(private readonly capacity: number) {
    this.ids = new Array(capacity).fill(undefined);
    this.jsons = new Array(capacity).fill(undefined);
  }

  /**
   * Records a live delivery. False when these very bytes were delivered under this id a moment ago (a
   * true duplicate, not to be sent again).
   */
  remember(id: string, json: string): boolean {
    if (this.highest === undefined || compareIds(id, this.highest) > 0) {
      this.highest = id;
      this.record(id, json);
      return true;
    }
    const slot = this.ids.indexOf(id);
    if (slot === -1) {
      this.record(id, json);
      return true;
    }
    const seen = this.jsons[slot] as string | string[];
    if (seen === json || (Array.isArray(seen) && seen.includes(json))) return false;
    // Two different messages with one id: one is hand-published (it may even predict a real id).
    // Keep both as candidates: a backfill trusts the id if the log holds either.
    this.jsons[slot] = [...(Array.isArray(seen) ? seen : [seen]), json].slice(-4);
    return true;
  }

  /** The candidates, most recently recorded first. */
  newestFirst(): { id: string; json: string | string[] }[] {
    const out: { id: string; json: string | string[] }[] = [];
    for (let k = 1; k <= this.capacity; k++) {
      const slot = (this.next - k + this.capacity) % this.capacity;
      const id = this.ids[slot];
      if (id !== undefined) out.push({ id, json: this.jsons[slot] as string | string[] });
    }
    return out;
  }

  private record(id: string, json: string): void {
    this.ids[this.next] = id;
    this.jsons[this.next] = json;
    this.next = (this.next + 1) % this.capacity;
  }
}
