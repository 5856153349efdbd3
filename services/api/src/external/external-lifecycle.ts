import { ERRORS, type EventDraft, isFinalState, parseChannelMessage } from "@threadline/protocol";
import {
  type ExternalRunRef,
  type ExternalRuns,
  keys,
  PublishRefusedError,
  type RedisClient,
  type RunLifecycle,
  type RunRecords,
  readLogEntry,
} from "@threadline/redis";
import { recordPatchFor } from "./record-patch.js";

export interface ExternalLifecycleDeps {
  redis: RedisClient;
  runs: RunRecords;
  /** Every record write and the silence failure go through the run lifecycle. */
  lifecycle: RunLifecycle;
  externalRuns: ExternalRuns;
  timeoutMs: number;
  /** How often a live run's record is renewed (`renewIntervalMs` of the log's TTL). */
  renewEveryMs: number;
  now: () => number;
}

export type CheckResult = "live" | "ended" | "lost" | "gone";

/** An external run's lifecycle on the API side: the record follows the producer; silence fails it. */
export interface ExternalLifecycle {
  /** Moves the run record along with events its producer just published. */
  follow(threadId: string, runId: string, events: readonly EventDraft[]): Promise<void>;
  /**
   * Looks at one indexed run: ended (its `done` is in; record reconciled, unindexed), lost (silent
   * past the timeout: failed with RUNNER_LOST), or live. Safe to run on several API instances at
   * once: the failure's events are keyed, so each is appended once.
   */
  check(ref: ExternalRunRef): Promise<CheckResult>;
}

export function createExternalLifecycle(deps: ExternalLifecycleDeps): ExternalLifecycle {
  const iso = () => new Date(deps.now()).toISOString();
  /**
   * When this instance last renewed each live run. An external run's events renew the log but not
   * its record, and its producer has no worker heartbeat: the silence check renews it instead.
   */
  const renewedAt = new Map<string, number>();
  const forget = (ref: ExternalRunRef) => renewedAt.delete(`${ref.threadId} ${ref.runId}`);
  async function renewIfDue(ref: ExternalRunRef) {
    const key = `${ref.threadId} ${ref.runId}`;
    if (deps.now() - (renewedAt.get(key) ?? 0) < deps.renewEveryMs) return;
    renewedAt.set(key, deps.now());
    await deps.lifecycle.renew(ref);
  }

  async function follow(threadId: string, runId: string, events: readonly EventDraft[]) {
    const record = await deps.runs.get(threadId, runId);
    if (!record || isFinalState(record.status)) return;
    const patch = recordPatchFor(record, events, iso());
    if (Object.keys(patch).length > 0) await deps.lifecycle.follow({ threadId, runId }, patch);
    if (patch.status && isFinalState(patch.status)) await deps.externalRuns.remove(threadId, runId);
  }

  /** The run's `done` entry, read back from the log (a direct-Redis producer published it). */
  async function doneEvent(threadId: string, doneId: string): Promise<EventDraft | undefined> {
    const json = await readLogEntry(deps.redis, threadId, doneId);
    if (!json) return undefined;
    const parsed = parseChannelMessage(keys.threadChannel(threadId), json);
    return parsed.ok ? (parsed.event as EventDraft) : undefined;
  }

  async function failLost(ref: ExternalRunRef): Promise<void> {
    const target = { threadId: ref.threadId, runId: ref.runId };
    const content = {
      code: ERRORS.RUNNER_LOST.code,
      message: `the run's producer published nothing for ${deps.timeoutMs} ms (EXTERNAL_RUN_TIMEOUT_MS); start a new run`,
      retryable: false,
    };
    try {
      // One atomic transition (events + record), keyed, so API instances racing here append it once.
      await deps.lifecycle.fail(target, content);
    } catch (error) {
      // The producer's own `done` got in first: the run ended after all.
      if (error instanceof PublishRefusedError && error.code === ERRORS.RUN_ENDED.code) return;
      throw error;
    }
    await deps.externalRuns.remove(ref.threadId, ref.runId);
  }

  return {
    follow,
    async check(ref) {
      const result = await checkOne(ref);
      if (result === "live") await renewIfDue(ref);
      else forget(ref);
      return result;
    },
  };

  async function checkOne(ref: ExternalRunRef): Promise<CheckResult> {
    const record = await deps.runs.get(ref.threadId, ref.runId);
    if (!record) {
      await deps.externalRuns.remove(ref.threadId, ref.runId);
      return "gone";
    }
    const state = await deps.externalRuns.publishState(ref.threadId, ref.runId);
    if (state.doneId) {
      const done = await doneEvent(ref.threadId, state.doneId);
      await follow(ref.threadId, ref.runId, done ? [done] : []);
      await deps.externalRuns.remove(ref.threadId, ref.runId);
      return "ended";
    }
    if (isFinalState(record.status)) {
      await deps.externalRuns.remove(ref.threadId, ref.runId);
      return "ended";
    }
    // Direct-Redis producers never pass through the API: their first event still starts the run.
    // (seq 1 is the API's own `status queued`.)
    if (state.seq > 1 && record.status === "queued") {
      await deps.lifecycle.follow(ref, { status: "running", startedAt: iso(), attempts: 1 });
    }
    const silentSince = state.lastEventAt ?? ref.createdAt;
    if (deps.now() - silentSince < deps.timeoutMs) return "live";
    await failLost(ref);
    return "lost";
  }
}
