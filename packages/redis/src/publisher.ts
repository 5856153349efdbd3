import { ERRORS, type EventDraft, ThreadEvent } from "@threadline/protocol";
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

export interface EventPublisher {
  /** Rejects with PublishRefusedError when the script refuses the event (invalid, stale, after done). */
  publish(target: PublishTarget, event: EventDraft, options?: PublishOptions): Promise<Published>;
}

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
  return {
    async publish({ threadId, runId }, event, { idempotencyKey, attempt } = {}) {
      const ts = now();
      const full = {
        type: event.type,
        threadId,
        ...(runId ? { runId } : {}),
        ...(event.agent ? { agent: event.agent } : {}),
        ts,
        content: event.content,
      };
      const checked = ThreadEvent.safeParse(full);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        const field = issue?.path.map(String).join(".") || "event";
        throw new PublishRefusedError(ERRORS.INVALID_EVENT.code, `${field}: ${issue?.message ?? "invalid"}`);
      }
      try {
        const [id, seq, repeat] = await client.threadlinePublishEvent(
          keys.threadLog(threadId),
          keys.threadMeta(threadId),
          runId ? keys.runPublishState(threadId, runId) : keys.threadMeta(threadId),
          keys.threadChannel(threadId),
          JSON.stringify(full),
          options.logMaxLen,
          options.logTtlSeconds,
          publishCommand,
          idempotencyKey ?? "",
          attempt === undefined ? "" : String(attempt),
        );
        return { id, seq: Number(seq), ts, duplicate: Number(repeat) === 1 };
      } catch (error) {
        throw refusalOf(error) ?? error;
      }
    },
  };
}
