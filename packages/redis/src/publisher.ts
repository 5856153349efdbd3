import type { EventDraft } from "@threadline/protocol";
import { isCluster, type RedisClient } from "./connections.js";
import { keys } from "./keys.js";
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

export interface Published {
  id: string;
  /** 0 when the event has no run. */
  seq: number;
  ts: number;
}

export interface EventPublisher {
  publish(target: PublishTarget, event: EventDraft): Promise<Published>;
}

/**
 * Publishes events through the atomic script: seq assigned, appended to the replay log, published
 * live with the log entry's id. Callers' drafts are trusted (they come from our own agents); input
 * from outside must be validated with packages/protocol first.
 */
export function createEventPublisher(client: RedisClient, options: PublisherOptions): EventPublisher {
  defineScripts(client);
  const publishCommand = isCluster(client) ? "SPUBLISH" : "PUBLISH";
  const now = options.now ?? Date.now;
  return {
    async publish({ threadId, runId }, event) {
      const ts = now();
      const payload = JSON.stringify({
        type: event.type,
        threadId,
        ...(runId ? { runId } : {}),
        ts,
        content: event.content,
      });
      const [id, seq] = await client.threadlinePublishEvent(
        keys.threadLog(threadId),
        keys.threadMeta(threadId),
        keys.threadChannel(threadId),
        runId ? keys.seqField(runId) : "",
        payload,
        options.logMaxLen,
        options.logTtlSeconds,
        publishCommand,
      );
      return { id, seq: Number(seq), ts };
    },
  };
}
