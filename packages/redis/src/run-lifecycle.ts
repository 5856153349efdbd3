import {
  type DoneContent,
  type ErrorContent,
  type EventDraft,
  type RunView,
  wellFormed,
  wellFormedJson,
} from "@threadline/protocol";
import { isCluster, type RedisClient } from "./connections.js";
import { keys } from "./keys.js";
import { refusalOf } from "./publish-refused.js";
import { encodeRunRecord } from "./run-records.js";
import { defineScripts } from "./scripts.js";
import { type ThreadClaim, threadOwnedOf } from "./thread-meta.js";

/**
 * How many runs a thread's runs index keeps (newest first): older runs drop out of the list (their
 * records still answer `GET /runs/:id` until they expire with the thread). Bounds the index on a
 * long-lived thread.
 */
export const RUNS_INDEX_CAP = 1_000;

/**
 * How often a live run's producer calls `renew`: three times per TTL (a late or failed renewal still
 * leaves two), at most every 10 minutes, at least every 100 ms.
 */
export function renewIntervalMs(logTtlSeconds: number): number {
  return Math.max(100, Math.min(600_000, (logTtlSeconds * 1_000) / 3));
}

export interface RunRef {
  threadId: string;
  runId: string;
}

export interface NewRun extends RunRef {
  agent: string;
  /** `external`: the run's own producer publishes its events (no worker). */
  runner?: RunView["runner"];
  input?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  budget?: RunView["budget"];
}

/** What an external run's record may follow (see `follow`). */
export type RunPatch = Partial<
  Pick<RunView, "status" | "startedAt" | "finishedAt" | "attempts" | "output" | "error">
>;

/** The `done` event's `cost`, when it is one (`{ usd }`). */
function costOf(done: DoneContent): { usd: number } | undefined {
  const { cost } = done as { cost?: { usd?: unknown } };
  return typeof cost?.usd === "number" && cost.usd >= 0 ? { usd: cost.usd } : undefined;
}

/** One event a transition published. */
export interface TransitionEvent {
  type: EventDraft["type"];
  id: string;
  seq: number;
  ts: number;
  /** True when this transition had already been applied (a re-sent command): nothing new was appended. */
  duplicate: boolean;
}

export interface RunLifecycleOptions {
  /** Approximate cap of each thread's log (XADD MAXLEN ~). */
  logMaxLen: number;
  /** The thread's TTL: log, meta, the run's record and the runs index expire together. */
  logTtlSeconds: number;
  /** Default RUNS_INDEX_CAP. */
  runsIndexCap?: number;
  /** Called once per transition that appended events (the archive feed marks the thread). */
  onAppended?(threadId: string): void;
  now?: () => number;
}

/**
 * A run's life, one method per transition. Each appends the events it announces and the record update
 * that goes with it in ONE script (lua/runTransition-5.lua), so the replay log and `GET /runs/:id`
 * never disagree, even when the process dies between them. Worker transitions pass the attempt: the
 * publish script's fencing then refuses a superseded attempt (PublishRefusedError `STALE_ATTEMPT`, or
 * `RUN_ENDED` after `done`) and nothing is changed. Every transition is keyed, so a re-sent command
 * appends nothing twice.
 */
export interface RunLifecycle {
  /**
   * API: record the run `queued` (indexed, thread's lastRunId) and publish `status queued`. With a
   * `claim` (ThreadMeta.claimForStart), the thread is claimed in the same script first, and a thread
   * owned by someone other than the claim's required owner refuses the start (`ThreadOwnedError`).
   */
  start(run: NewRun, claim?: ThreadClaim): Promise<TransitionEvent[]>;
  /**
   * Worker: an attempt begins: `status running` (attempt 1) or `status retrying` (later attempts).
   * Refused with `RUN_ENDED` (nothing written) when the run already ended — its `done` is published or
   * its record's status is final — so the worker needs no read before it. `startedAt` is recorded only
   * by the run's first attempt; a retry keeps it.
   */
  running(
    run: RunRef,
    attempt: number,
    startedAt: string,
    /** A later attempt that resumes after this many completed steps (its checkpoints). */
    resumedFromStep?: number,
  ): Promise<TransitionEvent[]>;
  /** Worker: an attempt failed and another will follow: `error`, record `retrying` with the error. */
  retrying(run: RunRef, error: ErrorContent, attempt: number): Promise<TransitionEvent[]>;
  /** Worker: the job went back to the queue unfinished (shutdown): record `retrying`, no event. */
  handBack(run: RunRef): Promise<void>;
  /** The run finished: `done`, record `completed` (with the output). */
  complete(run: RunRef, done: DoneContent, attempt: number): Promise<TransitionEvent[]>;
  /**
   * The run failed for good: `error`, `status failed`, `done {finishReason:"error"}`, record `failed`.
   * Without `attempt` (API, stalled or invalid jobs) it is unfenced.
   */
  fail(run: RunRef, error: ErrorContent, attempt?: number): Promise<TransitionEvent[]>;
  /** The run was cancelled: `status cancelled`, `done {finishReason:"cancelled"}`, record `cancelled`. */
  cancel(run: RunRef, options?: { message?: string; attempt?: number }): Promise<TransitionEvent[]>;
  /**
   * External runs: the record follows events the run's own producer already published (no event of
   * its own). Like every transition it renews the TTL and never re-creates an expired record.
   */
  follow(run: RunRef, patch: RunPatch): Promise<void>;
  /**
   * Worker, while a run is live: renews the TTL of everything the run keeps in its thread (record,
   * runs index, log, meta, publish state), changing nothing. Events renew only the log, meta and
   * publish state, so without this a run quiet between transitions for longer than the TTL would
   * answer 404 while live. Never re-creates an expired key.
   */
  renew(run: RunRef): Promise<void>;
}

type RecordChange =
  | { op: "create"; fields: Partial<RunView>; createdAtMs: number }
  | { op: "update" | "begin"; fields: Partial<RunView> };

export function createRunLifecycle(client: RedisClient, options: RunLifecycleOptions): RunLifecycle {
  defineScripts(client);
  const publishCommand = isCluster(client) ? "SPUBLISH" : "PUBLISH";
  const now = options.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const indexCap = options.runsIndexCap ?? RUNS_INDEX_CAP;

  const transition = async (
    name: string,
    { threadId, runId }: RunRef,
    attempt: number | undefined,
    events: EventDraft[],
    change: (ts: number) => RecordChange,
    claim?: ThreadClaim,
  ): Promise<TransitionEvent[]> => {
    const ts = now();
    const record = change(ts);
    // Lone surrogates (an agent's error message, a done's output) become U+FFFD, as on the publish
    // path: the script's cjson refuses their JSON escapes, and a final transition is retried until
    // Redis accepts it.
    const fields = Object.entries(encodeRunRecord(wellFormed(record.fields))).flat();
    // Keys unique per transition and attempt, apart from the worker's `<attempt>:<n>` event keys.
    const keyOf = (i: number) => `lc:${name}:${attempt ?? "-"}:${i}`;
    const eventArgs = events.flatMap((event, i) => [
      wellFormedJson({ type: event.type, threadId, runId, ts, content: event.content }),
      keyOf(i),
    ]);
    const args = [
      keys.threadLog(threadId),
      keys.threadMeta(threadId),
      keys.runPublishState(threadId, runId),
      keys.run(threadId, runId),
      keys.threadRuns(threadId),
      ...(claim ? [claim.claimant, claim.createdAt, claim.archiveFollows, claim.requiredOwner ?? ""] : []),
      keys.threadChannel(threadId),
      options.logMaxLen,
      options.logTtlSeconds,
      publishCommand,
      attempt === undefined ? "" : String(attempt),
      record.op,
      runId,
      record.op === "create" ? record.createdAtMs : 0,
      indexCap,
      fields.length / 2,
      ...fields,
      ...eventArgs,
    ];
    let reply: (string | number)[];
    try {
      reply = await (claim
        ? client.threadlineClaimAndStart(...args)
        : client.threadlineRunTransition(...args));
    } catch (error) {
      throw refusalOf(error) ?? threadOwnedOf(error) ?? error;
    }
    if (events.length > 0) options.onAppended?.(threadId);
    return events.map((event, i) => ({
      type: event.type,
      id: String(reply[3 * i]),
      seq: Number(reply[3 * i + 1]),
      ts,
      duplicate: Number(reply[3 * i + 2]) === 1,
    }));
  };
  const update = (fields: Partial<RunView>) => (): RecordChange => ({ op: "update", fields });
  const end = (fields: Partial<RunView>) => (): RecordChange => ({
    op: "update",
    fields: { ...fields, finishedAt: iso() },
  });
  const errorOf = (e: ErrorContent) => ({ code: e.code, message: e.message, retryable: e.retryable });

  return {
    start: (run, claim) =>
      transition(
        "start",
        run,
        undefined,
        [{ type: "status", content: { state: "queued" } }],
        (ts) => ({
          op: "create",
          createdAtMs: ts,
          fields: {
            runId: run.runId,
            threadId: run.threadId,
            agent: run.agent,
            status: "queued",
            createdAt: new Date(ts).toISOString(),
            attempts: 0,
            ...(run.input ? { input: run.input } : {}),
            ...(run.runner ? { runner: run.runner } : {}),
            ...(run.metadata ? { metadata: run.metadata } : {}),
            ...(run.budget ? { budget: run.budget } : {}),
          },
        }),
        claim,
      ),
    running: (run, attempt, startedAt, resumedFromStep) =>
      transition(
        "running",
        run,
        attempt,
        [
          {
            type: "status",
            content:
              attempt === 1
                ? { state: "running", attempt }
                : { state: "retrying", attempt, ...(resumedFromStep ? { resumedFromStep } : {}) },
          },
        ],
        (): RecordChange => ({ op: "begin", fields: { status: "running", startedAt, attempts: attempt } }),
      ),
    retrying: (run, error, attempt) =>
      transition(
        "retrying",
        run,
        attempt,
        [{ type: "error", content: error }],
        update({ status: "retrying", error: errorOf(error) }),
      ),
    async handBack(run) {
      await transition("handback", run, undefined, [], update({ status: "retrying" }));
    },
    complete: (run, done, attempt) =>
      transition(
        "complete",
        run,
        attempt,
        [{ type: "done", content: done }],
        end({
          status: "completed",
          ...(done.output === undefined ? {} : { output: done.output }),
          ...(done.usage === undefined ? {} : { usage: done.usage }),
          ...(costOf(done) === undefined ? {} : { cost: costOf(done) }),
        }),
      ),
    fail: (run, error, attempt) =>
      transition(
        "fail",
        run,
        attempt,
        [
          { type: "error", content: error },
          {
            type: "status",
            content: {
              state: "failed",
              ...(attempt === undefined ? {} : { attempt }),
              message: error.message,
            },
          },
          { type: "done", content: { finishReason: "error" } },
        ],
        end({ status: "failed", error: errorOf(error) }),
      ),
    async follow(run, patch) {
      await transition("follow", run, undefined, [], update(patch));
    },
    async renew(run) {
      await transition("renew", run, undefined, [], update({}));
    },
    cancel: (run, { message, attempt } = {}) =>
      transition(
        "cancel",
        run,
        attempt,
        [
          { type: "status", content: { state: "cancelled", ...(message === undefined ? {} : { message }) } },
          { type: "done", content: { finishReason: "cancelled" } },
        ],
        end({ status: "cancelled" }),
      ),
  };
}
