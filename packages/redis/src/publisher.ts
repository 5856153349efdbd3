import {
  completeTokenEvent,
  ERRORS,
  type EventDraft,
  isThreadId,
  ThreadEvent,
  wellFormedJson,
} from "@threadline/protocol";
import { isCluster, type RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { PublishRefusedError, refusalOf } from "./publish-refused.js";
import { defineScripts } from "./scripts.js";

export interface PublisherOptions {
  /** Approximate cap of each thread's log (XADD MAXLEN ~). */
  logMaxLen: number;
  /** Log and meta expire this long after a thread's last event. */
  logTtlSeconds: number;
  now?: () => number;
}

export interface PublishTarget {
  threadId: string;
  /** Omit for events that belong to no run (they get no `seq`). */
  runId?: string;
}

export interface PublishOptions {
  /**
   * Unique within the run (≤ 128 characters): publishing the same key again appends nothing and
   * answers the first publish's id and seq (see IDEMPOTENCY_WINDOW for how long it is remembered).
   */
  idempotencyKey?: string;
  /**
   * Fencing token: the producer's attempt number. Once a newer attempt of the run has published,
   * an older one is refused (`STALE_ATTEMPT`), so a paused worker cannot interleave with its successor.
   */
  attempt?: number;
}

export interface Published {
  id: string;
  /** 0 when the event has no run. */
  seq: number;
  ts: number;
  /** True when the idempotency key had been published before: nothing new was appended. */
  duplicate: boolean;
}

export interface BatchItem {
  event: EventDraft;
  /** As PublishOptions.idempotencyKey, for this event. */
  idempotencyKey?: string;
}

export interface BatchPublished {
  /** One per item, in order: every item when none was refused, else the items before the refused one. */
  published: Published[];
  /** Why `items[published.length]` was refused; the items after it were not looked at (not published). */
  refused?: PublishRefusedError;
}

export interface EventPublisher {
  /** Rejects with PublishRefusedError when the script refuses the event (invalid, stale, after done). */
  publish(target: PublishTarget, event: EventDraft, options?: PublishOptions): Promise<Published>;
  /**
   * Publishes several events of one run in ONE script call, each exactly as `publish` would (its own
   * seq, id, idempotency key, log entry and live message, in order; `attempt` fences them all). A
   * refusal is answered, not thrown, because the events before it are published; it rejects only when
   * the call itself failed (connection), when nothing is known to be published.
   */
  publishBatch(
    target: PublishTarget,
    items: readonly BatchItem[],
    options?: BatchOptions,
  ): Promise<BatchPublished>;
}

export interface BatchOptions extends Pick<PublishOptions, "attempt"> {
  /**
   * One idempotency key for the whole call instead of one per item (the script's call-key form:
   * one HGET and one HSET per call instead of three commands per event). A call with a key seen
   * before answers what that call published as repeats. Only for a producer that never puts an
   * event in two different calls (the worker: a call is sent again only whole, by ioredis after a
   * dropped connection); the items then carry no keys of their own.
   */
  callKey?: string;
}

/** ARGV[8] of the publish script's call-key form: the call's events' payloads follow, without keys. */
const CALL_KEY_FORM = "CALL";

/** How many later events of the same run a repeat is still recognised after (the script's window). */
export const IDEMPOTENCY_WINDOW = 4096;

/**
 * Publishes events through the atomic script: seq assigned, appended to the replay log, published
 * live with the log entry's id. Every event is checked against the protocol's schema first, so no
 * producer can write what readers would drop; the script re-checks the essentials for producers in
 * other languages.
 */
export function createEventPublisher(client: RedisClient, options: PublisherOptions): EventPublisher {
  defineScripts(client);
  const publishCommand = isCluster(client) ? "SPUBLISH" : "PUBLISH";
  const now = options.now ?? Date.now;
  /** The event as published (ts filled in), checked against the protocol's schema, or why not. */
  const build = ({ threadId, runId }: PublishTarget, event: EventDraft) => {
    const full = {
      type: event.type,
      threadId,
      ...(runId ? { runId } : {}),
      ...(event.agent ? { agent: event.agent } : {}),
      ts: now(),
      content: event.content,
    };
    // A root agent's token (nearly every event a worker publishes) is checked by hand, exactly as the
    // schema would (completeTokenEvent is held to it by its property test), and written by hand: its
    // ids matched ID_PATTERN (nothing to escape) and ts is an integer. The rest goes by the schema.
    // Lone UTF-16 surrogates become U+FFFD (wellFormedJson; docs/ARCHITECTURE.md, "Lone UTF-16
    // surrogates").
    if (full.type === "token" && isThreadId(threadId) && completeTokenEvent(full, threadId)) {
      const run = runId ? `"runId":"${runId}",` : "";
      const json = `{"type":"token","threadId":"${threadId}",${run}"ts":${full.ts},"content":${wellFormedJson(full.content)}}`;
      return { full, json };
    }
    const checked = ThreadEvent.safeParse(full);
    if (checked.success) return { full, json: wellFormedJson(full) };
    const issue = checked.error.issues[0];
    const field = issue?.path.map(String).join(".") || "event";
    return {
      refused: new PublishRefusedError(ERRORS.INVALID_EVENT.code, `${field}: ${issue?.message ?? "invalid"}`),
    };
  };
  const scriptKeys = ({ threadId, runId }: PublishTarget) =>
    [
      keys.threadLog(threadId),
      keys.threadMeta(threadId),
      runId ? keys.runPublishState(threadId, runId) : keys.threadMeta(threadId),
      keys.threadChannel(threadId),
    ] as const;

  return {
    async publish(target, event, { idempotencyKey, attempt } = {}) {
      const built = build(target, event);
      if (built.refused) throw built.refused;
      try {
        const [id, seq, repeat] = await client.threadlinePublishEvent(
          ...scriptKeys(target),
          built.json,
          options.logMaxLen,
          options.logTtlSeconds,
          publishCommand,
          idempotencyKey ?? "",
          attempt === undefined ? "" : String(attempt),
        );
        return { id, seq: Number(seq), ts: built.full.ts, duplicate: Number(repeat) === 1 };
      } catch (error) {
        throw refusalOf(error) ?? error;
      }
    },

    async publishBatch(target, items, { attempt, callKey } = {}) {
      if (callKey !== undefined && items.some((item) => item.idempotencyKey !== undefined)) {
        throw new TypeError("publishBatch: with a callKey the items carry no idempotency keys");
      }
      // Checked first: the events before an invalid one still go, as they would one at a time.
      const timestamps: number[] = [];
      const rest: string[] = [];
      let first: string | undefined;
      let firstKey = "";
      let invalid: PublishRefusedError | undefined;
      for (const item of items) {
        const built = build(target, item.event);
        if (built.refused) {
          invalid = built.refused;
          break;
        }
        timestamps.push(built.full.ts);
        const payload = built.json;
        if (first === undefined) {
          first = payload;
          firstKey = callKey ?? item.idempotencyKey ?? "";
        } else if (callKey !== undefined) rest.push(payload);
        else rest.push(payload, item.idempotencyKey ?? "");
      }
      if (first === undefined) return { published: [], ...(invalid ? { refused: invalid } : {}) };
      let reply: (string | number | Error)[];
      try {
        reply = await client.threadlinePublishEvent(
          ...scriptKeys(target),
          first,
          options.logMaxLen,
          options.logTtlSeconds,
          publishCommand,
          firstKey,
          attempt === undefined ? "" : String(attempt),
          ...(callKey !== undefined ? [CALL_KEY_FORM, ...rest] : rest),
        );
      } catch (error) {
        const refused = refusalOf(error);
        if (refused) return { published: [], refused };
        throw error;
      }
      const published: Published[] = [];
      for (let i = 0; i + 2 < reply.length; i += 3) {
        published.push({
          id: String(reply[i]),
          seq: Number(reply[i + 1]),
          ts: timestamps[published.length] ?? 0,
          duplicate: Number(reply[i + 2]) === 1,
        });
      }
      const last = reply.at(-1);
      if (last instanceof Error) {
        const refused = refusalOf(last);
        if (!refused) throw last;
        return { published, refused };
      }
      return { published, ...(invalid ? { refused: invalid } : {}) };
    },
  };
}
