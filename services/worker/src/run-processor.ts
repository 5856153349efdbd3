import type { AgentEvent, AgentRegistry } from "@threadline/agents";
import { AgentError } from "@threadline/agents";
import { CHECKPOINT_KIND, type DoneContent, ERRORS, type EventDraft, RunJobData } from "@threadline/protocol";
import {
  type EventPublisher,
  PublishRefusedError,
  type RunCheckpoint,
  type RunLifecycle,
  type ThreadWatchers,
  type TransitionEvent,
} from "@threadline/redis";
import { type Job, UnrecoverableError, WaitingError } from "bullmq";
import type { Logger } from "pino";
import type { ActiveRun, ActiveRuns } from "./active-runs.js";
import { type BudgetCrossing, type BudgetMeter, createBudgetMeter } from "./budget-meter.js";
import { createCoalescingPublisher, type RunPublisher } from "./coalescing-publisher.js";
import { watchDisconnect } from "./disconnect-watch.js";
import { untilAccepted } from "./until-accepted.js";
import type { JobOutcome, WorkerMetrics } from "./worker-metrics.js";

export interface RunProcessorDeps {
  agents: AgentRegistry;
  publisher: EventPublisher;
  lifecycle: RunLifecycle;
  active: ActiveRuns;
  /** The gateways' watcher sets (for runs with `onDisconnect`). */
  watchers: ThreadWatchers;
  metrics: WorkerMetrics;
  log: Logger;
  tokenCoalesceMs: number;
  /** How often runs with `onDisconnect` look at their thread's watchers. */
  disconnectCheckMs: number;
  /** How often a live run renews its record's (and its thread's) TTL: a few times per LOG_TTL_SECONDS. */
  renewEveryMs: number;
  /** The run's latest checkpoint (a retried attempt resumes after it); none when absent. */
  latestCheckpoint?: (threadId: string, runId: string) => Promise<RunCheckpoint | undefined>;
  /** The thread's earlier turns for a run (memory); none when absent. */
  history?: (threadId: string, runId: string) => Promise<Turn[]>;
  /** How often a long generation reports usage when its agent does not (default PROGRESS_INTERVAL_MS). */
  progressIntervalMs?: number;
  /** True once shutdown began: a job fetched now is handed straight back. */
  isClosing(): boolean;
  now?: () => number;
}

/** One earlier turn of the thread, as the agent's memory. */
type Turn = { role: "user" | "assistant"; content: string };

export type RunResult = { outcome: "completed" | "cancelled" | "skipped" };

/** Enough of a job's data to tell its run's clients, when the rest is unusable. */
const RunIds = RunJobData.pick({ threadId: true, runId: true });

/**
 * The BullMQ processor of the `runs` queue: runs one attempt of a run and publishes everything it
 * does. It completes the job (completed, cancelled), throws to let BullMQ retry (a retryable error
 * with attempts left), throws `UnrecoverableError` (no retry), or hands the job back (`WaitingError`)
 * when the worker shuts down.
 */
export function createRunProcessor(deps: RunProcessorDeps) {
  const now = deps.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  /** Counts a transition's events like every other published event. */
  const counted = (events: TransitionEvent[]) => {
    for (const event of events) deps.metrics.events.inc({ type: event.type });
  };
  /**
   * A run's final transition (completed, cancelled, failed, retrying next): retried until Redis
   * accepts it, so the run always ends and its clients always get their `done`. Gives up only when
   * `giveUp` says so (the job is being handed back: its next attempt will end the run instead).
   */
  const finalTransition = (write: () => Promise<TransitionEvent[]>, log: Logger, giveUp: () => boolean) =>
    untilAccepted(write, {
      giveUp,
      onRetry: (error, tries) =>
        log.warn(
          { err: error, tries },
          "Redis refused the run's final transition; retrying until it accepts",
        ),
    }).then(counted);
  const handedBack = (run: ActiveRun) => () => run.stopReason?.kind === "handback";

  return { process: processRun, finishStalled };

  async function processRun(job: Job, token?: string): Promise<RunResult> {
    const parsed = RunJobData.safeParse(job.data);
    if (!parsed.success) return rejectInvalidJob(job, parsed.error.message);
    const data = parsed.data;
    const { threadId, runId } = data;
    const log = deps.log.child({ threadId, runId, jobId: job.id });
    // attemptsStarted counts every move to active: BullMQ retries, stalls and hand-backs alike.
    const attempt = Math.max(job.attemptsStarted, job.attemptsMade + job.stalledCounter + 1, 1);
    const run = deps.active.add(runId, threadId);
    // Fetched while shutting down (a race with close()): give it back untouched, leave the others be.
    if (deps.isClosing()) run.stopReason = { kind: "handback" };
    const started = performance.now();
    let firstToken = true;
    const out = createCoalescingPublisher(
      deps.publisher,
      { threadId, runId },
      {
        attempt,
        coalesceMs: deps.tokenCoalesceMs,
        onPublished: (event) => {
          deps.metrics.events.inc({ type: event.type });
          if (event.type === "token" && firstToken) {
            firstToken = false;
            deps.metrics.timeToFirstToken.observe((performance.now() - started) / 1000);
          }
        },
      },
    );
    deps.metrics.activeRuns.inc();
    let stopWatch = () => {};
    let renewal: NodeJS.Timeout | undefined;
    const finish = (outcome: JobOutcome) => {
      deps.metrics.jobs.inc({ outcome });
      deps.metrics.runDuration.observe({ outcome }, (performance.now() - started) / 1000);
    };

    try {
      if (run.stopReason?.kind === "handback") return await handBack(job, token, run, log, finish);
      // The thread's earlier turns load while the run starts (one round trip less before the agent).
      const history = (deps.history?.(threadId, runId) ?? Promise.resolve<Turn[]>([])).catch(
        (error: unknown) => {
          // Memory is a help, not a precondition: the run goes on without it.
          log.warn({ err: error }, "could not load the thread's earlier turns");
          return [];
        },
      );
      if (attempt === 1) deps.metrics.queueWait.observe(Math.max(0, now() - job.timestamp) / 1000);
      // A retry resumes after the last step an earlier attempt completed (its checkpoint in the log).
      const resume = attempt > 1 ? await deps.latestCheckpoint?.(threadId, runId) : undefined;
      // One call, no read before it: the transition itself refuses a run that already ended (its
      // `done`, or a final record, e.g. cancelled while a retry was pending) and keeps the first
      // attempt's startedAt.
      const begun = await deps.lifecycle
        .running({ threadId, runId }, attempt, iso(), resume?.step)
        .catch((error: unknown) => {
          if (error instanceof PublishRefusedError && error.code === ERRORS.RUN_ENDED.code) return undefined;
          throw error;
        });
      if (!begun) {
        log.info("run already ended; job dropped");
        return { outcome: "skipped" };
      }
      counted(begun);
      log.info(
        { agent: data.agent, attempt, resumedFromStep: resume?.step },
        attempt === 1 ? "run started" : "run retrying",
      );
      // Events renew the log's TTL but not the record's: a run quiet between transitions for longer
      // than LOG_TTL_SECONDS would answer 404 while live. Renewed on a timer, not per event.
      renewal = setInterval(() => {
        deps.lifecycle
          .renew(run)
          .catch((error: unknown) => log.warn({ err: error }, "could not renew the run's TTL"));
      }, deps.renewEveryMs);
      renewal.unref();

      const checked = deps.agents.validateInput(data.agent, data.input);
      if (!checked.ok) throw new AgentError(checked.code, checked.message, false);
      if (data.onDisconnect) {
        const { cancelAfterMs } = data.onDisconnect;
        stopWatch = watchDisconnect({
          watchers: deps.watchers,
          threadId,
          cancelAfterMs,
          checkEveryMs: Math.min(deps.disconnectCheckMs, Math.max(50, cancelAfterMs / 2)),
          onIdle: (idleMs) =>
            deps.active.cancel(
              runId,
              `no client watched the thread for ${Math.round(idleMs)} ms (onDisconnect)`,
            ),
          onError: (error) => log.warn({ err: error }, "watcher check failed"),
        });
      }

      const meter = createBudgetMeter(data.budget, {
        now,
        ...(deps.progressIntervalMs === undefined ? {} : { intervalMs: deps.progressIntervalMs }),
      });
      const streamed = await streamAgent(
        checked.agent.run(checked.input, {
          threadId,
          runId,
          attempt,
          signal: run.controller.signal,
          log,
          ...(resume ? { resume } : {}),
          // Published after the step's own events (publish flushes buffered tokens first).
          checkpoint: async (step, state) => {
            const bytes = Buffer.byteLength(JSON.stringify(state) ?? "");
            if (bytes > MAX_CHECKPOINT_STATE_BYTES) {
              // Too large for one event: the run goes on, and a retry resumes after an earlier checkpoint.
              log.warn({ step, bytes }, "checkpoint too large for the log; skipped");
              return;
            }
            await out.publish({ type: "delta", content: { kind: CHECKPOINT_KIND, step, state } });
          },
          history: await history,
        }),
        run,
        out,
        meter,
      );
      await out.flush();
      if (run.stopReason) return await stopped(job, token, run, out, log, finish, attempt);
      let content: DoneContent = streamed.done ?? { finishReason: "stop" };
      if (streamed.crossing) {
        // Over budget: the agent was stopped; the run ends as cut short, saying why.
        const end = meter.end(streamed.crossing);
        await out.publish({ type: "error", content: end.error });
        content = end.done;
        log.info({ crossing: streamed.crossing }, "run stopped at its budget");
      }
      await finalTransition(
        () => deps.lifecycle.complete({ threadId, runId }, content, attempt),
        log,
        handedBack(run),
      );
      finish("completed");
      log.info({ attempt, finishReason: content.finishReason }, "run completed");
      return { outcome: "completed" };
    } catch (error) {
      if (error instanceof WaitingError) throw error;
      if (isFenced(error)) return superseded(run, error, log, finish);
      if (run.stopReason) {
        // The agent threw because it was aborted: that is the cancel or hand-back, not a failure.
        await out.flush().catch(() => {});
        return await stopped(job, token, run, out, log, finish, attempt).catch((stopError: unknown) => {
          if (isFenced(stopError)) return superseded(run, stopError, log, finish);
          throw stopError;
        });
      }
      const failure = await failed(job, error, out, log, finish, attempt, run);
      if (failure instanceof PublishRefusedError) return superseded(run, failure, log, finish);
      throw failure;
    } finally {
      clearInterval(renewal);
      stopWatch();
      out.dispose();
      deps.active.remove(run);
      deps.metrics.activeRuns.dec();
    }
  }

  /** Ends a run whose job BullMQ failed for stalling too often (its processor never ran again). */
  async function finishStalled(job: Job, reason: Error): Promise<void> {
    const ids = RunIds.safeParse(job.data);
    if (!ids.success) return;
    const target = ids.data;
    // Keyed like every transition, so a second report of the same failure appends nothing twice.
    await finalTransition(
      () =>
        deps.lifecycle.fail(target, {
          code: ERRORS.RUN_STALLED.code,
          message: `the run's worker stopped responding too often (${reason.message}); start a new run`,
          retryable: false,
        }),
      deps.log.child(target),
      deps.isClosing,
    );
    deps.metrics.jobs.inc({ outcome: "failed" });
    deps.log.warn({ ...target, jobId: job.id }, "run failed: stalled too often");
  }

  /**
   * The publish script refused this attempt: a newer attempt owns the run (this worker was paused
   * past its lock and another took the job over) or the run already ended. Stop the agent and touch
   * nothing: the run's events and record belong to whoever is ahead.
   */
  function superseded(
    run: ActiveRun,
    error: PublishRefusedError,
    log: Logger,
    finish: (o: JobOutcome) => void,
  ): RunResult {
    run.stopReason = { kind: "superseded", message: error.message };
    run.controller.abort();
    finish("superseded");
    log.warn({ refusal: error.code, detail: error.detail }, "attempt superseded; agent stopped");
    return { outcome: "skipped" };
  }

  async function stopped(
    job: Job,
    token: string | undefined,
    run: ActiveRun,
    out: RunPublisher,
    log: Logger,
    finish: (o: JobOutcome) => void,
    attempt: number,
  ): Promise<RunResult> {
    if (run.stopReason?.kind === "handback") return handBack(job, token, run, log, finish);
    if (run.stopReason?.kind === "superseded") return { outcome: "skipped" };
    const message = run.stopReason?.kind === "cancel" ? run.stopReason.message : "cancelled";
    await out.flush();
    await finalTransition(() => deps.lifecycle.cancel(run, { message, attempt }), log, handedBack(run));
    finish("cancelled");
    log.info({ reason: message }, "run cancelled");
    return { outcome: "cancelled" };
  }

  async function handBack(
    job: Job,
    token: string | undefined,
    run: ActiveRun,
    log: Logger,
    finish: (o: JobOutcome) => void,
  ): Promise<never> {
    // Back to the head of the wait list without counting a failure; the next worker announces
    // `status retrying` with the next attempt number.
    await job.moveToWait(token);
    await deps.lifecycle.handBack(run).catch(() => {});
    finish("handed_back");
    log.warn("run handed back to the queue (worker shutting down)");
    throw new WaitingError();
  }

  async function failed(
    job: Job,
    error: unknown,
    out: RunPublisher,
    log: Logger,
    finish: (o: JobOutcome) => void,
    attempt: number,
    run: ActiveRun,
  ): Promise<Error | PublishRefusedError> {
    const info =
      error instanceof AgentError
        ? { code: error.code, message: error.message, retryable: error.retryable }
        : {
            code: ERRORS.AGENT_FAILED.code,
            message: (error as Error)?.message ?? String(error),
            retryable: true,
          };
    const willRetry = info.retryable && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    try {
      await out.flush().catch(() => {});
      await finalTransition(
        () =>
          willRetry ? deps.lifecycle.retrying(run, info, attempt) : deps.lifecycle.fail(run, info, attempt),
        log,
        handedBack(run),
      );
    } catch (publishError) {
      // Refused for good: a newer attempt owns the run (this one was paused or cut off past its lock).
      if (isFenced(publishError)) return publishError;
      log.error({ err: publishError }, "could not publish the run's failure");
    }
    finish(willRetry ? "retried" : "failed");
    log.warn(
      { err: error, code: info.code, retryable: info.retryable, willRetry, attempt },
      "run attempt failed",
    );
    if (!info.retryable) return new UnrecoverableError(`${info.code}: ${info.message}`);
    return error instanceof Error ? error : new Error(info.message);
  }

  async function rejectInvalidJob(job: Job, reason: string): Promise<never> {
    deps.metrics.jobs.inc({ outcome: "invalid" });
    const ids = RunIds.safeParse(job.data);
    deps.log.error({ jobId: job.id, reason }, "invalid job data; the job fails without retry");
    if (ids.success) {
      const content = {
        code: ERRORS.INVALID_JOB.code,
        message: `the job data is invalid: ${reason}`,
        retryable: false,
      };
      const target = ids.data;
      await finalTransition(() => deps.lifecycle.fail(target, content), deps.log, deps.isClosing).catch(
        () => {},
      );
    }
    throw new UnrecoverableError(`invalid job data: ${reason}`);
  }
}

/**
 * The largest checkpoint state the worker publishes: the publish script refuses events over 1 MiB, and a
 * refused checkpoint would fail a run that is otherwise fine (an LLM run's conversation grows with
 * every tool result).
 */
export const MAX_CHECKPOINT_STATE_BYTES = 1_000_000;

/** The publish script refused the attempt for good: it no longer owns the run. */
function isFenced(error: unknown): error is PublishRefusedError {
  return error instanceof PublishRefusedError && error.code !== ERRORS.INVALID_EVENT.code;
}

/**
 * Publishes the agent's events until `done`, the end of the stream, an abort, or the run's budget
 * (`crossing`). The abort wins even when the agent ignores its signal: its iterator is closed in the
 * background, as it is when the budget stops it.
 */
async function streamAgent(
  events: AsyncIterable<AgentEvent>,
  run: ActiveRun,
  out: RunPublisher,
  meter: BudgetMeter,
): Promise<{ done?: DoneContent; crossing?: BudgetCrossing }> {
  const iterator = events[Symbol.asyncIterator]();
  const signal = run.controller.signal;
  /** Settles the step in flight as "aborted" when the run is stopped: an agent may hang inside it. */
  let stopStep: ((value: "aborted") => void) | undefined;
  const onAbort = () => stopStep?.("aborted");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      // One promise per step, which the abort can settle. Not Promise.race with one promise for the
      // whole run: every race leaves a reaction on that promise, holding the step's event, until the
      // run ends — thousands per run, all promoted to the old generation (issue 16 item 5).
      const next = await new Promise<IteratorResult<AgentEvent> | "aborted">((resolve, reject) => {
        stopStep = resolve;
        // Once the abort won, a later rejection of this step lands on a settled promise: handled.
        iterator.next().then(resolve, reject);
        if (signal.aborted) resolve("aborted");
      });
      if (next === "aborted" || next.done) return {};
      const event = next.value as EventDraft;
      if (signal.aborted) return {};
      if (event.type === "done") return { done: event.content };
      // Live usage every few seconds of a long generation: what streamed before this token. Not
      // between the halves of a surrogate pair split across two tokens (the publisher holds the first
      // half for this token; an event in between would make it U+FFFD): it waits one token more.
      const report =
        event.type === "token" && !startsWithLowSurrogate(event.content) ? meter.due() : undefined;
      const measured = meter.check(event);
      if (measured.verdict === "stop") return { crossing: measured.crossing };
      if (report) await out.publish({ type: "delta", content: report });
      await out.publish(event);
      if (measured.verdict === "after") return { crossing: measured.crossing };
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Lets the agent clean up (close its HTTP stream). Not awaited: an agent that ignores its
    // signal must not hold the run hostage.
    iterator.return?.()?.catch(() => {});
  }
}

function startsWithLowSurrogate(text: string): boolean {
  const first = text.charCodeAt(0);
  return first >= 0xdc00 && first <= 0xdfff;
}
