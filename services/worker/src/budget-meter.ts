import {
  Cost,
  type DeltaContent,
  type DoneContent,
  ERRORS,
  type ErrorContent,
  type EventDraft,
  type RunBudget,
  Usage,
} from "@threadline/protocol";

/** A long generation reports its usage at least this often (when the agent itself did not). */
export const PROGRESS_INTERVAL_MS = 2_000;

/** Which limit a run crossed, and by how much. */
export interface BudgetCrossing {
  limit: "maxOutputTokens" | "maxCostUsd";
  max: number;
  used: number;
}

export interface BudgetMeter {
  /**
   * Measures one event before it is published: `stop` = this event would cross a limit and is not
   * published (a token past maxOutputTokens); `after` = publish it, then stop (a `progress` delta that
   * reports usage or cost past a limit: the report is true, the run must not go on).
   */
  check(event: EventDraft): { verdict: "go" } | { verdict: "stop" | "after"; crossing: BudgetCrossing };
  /**
   * A `progress` delta to publish before the next token, when the agent has not reported its usage for
   * `intervalMs` while tokens streamed: output tokens counted from the stream (`estimated: true`).
   */
  due(): DeltaContent | undefined;
  /** The run's end after a crossing: `error BUDGET_EXCEEDED`, then `done { finishReason: "length" }`. */
  end(crossing: BudgetCrossing): { error: ErrorContent; done: DoneContent };
}

/**
 * Keeps a run inside `budget: { maxOutputTokens?, maxCostUsd? }`. Output tokens are the larger of what
 * the agent reported (`progress` deltas) and the tokens it streamed (one `token` event is at least one
 * token: the demo streams one per event, the AI SDK one text delta per event), so a token budget stops
 * the stream at the limit even between two reports. Cost is what the agent reported (priced models only).
 */
const GO = { verdict: "go" } as const;

export function createBudgetMeter(
  budget: RunBudget | undefined,
  options: { now?: () => number; intervalMs?: number } = {},
): BudgetMeter {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS;
  let lastReportAt = now();
  let streamedAtReport = 0;
  let streamed = 0;
  let reported: Usage = {};
  let cost: { usd: number } | undefined;
  /**
   * The root agent's text so far, for `done.output` when a budget stops the run. Kept only under a
   * budget: a run without one never ends here, and the whole answer held as a rope of its tokens
   * outlives every young-generation GC (issue 16 item 5).
   */
  let text = "";
  const outputTokens = () => Math.max(streamed, reported.outputTokens ?? 0);

  const crossed = (): BudgetCrossing | undefined => {
    const maxTokens = budget?.maxOutputTokens;
    if (maxTokens !== undefined && outputTokens() > maxTokens) {
      return { limit: "maxOutputTokens", max: maxTokens, used: outputTokens() };
    }
    const maxCost = budget?.maxCostUsd;
    if (maxCost !== undefined && cost !== undefined && cost.usd > maxCost) {
      return { limit: "maxCostUsd", max: maxCost, used: cost.usd };
    }
    return undefined;
  };

  return {
    check(event) {
      if (event.type === "token") {
        const max = budget?.maxOutputTokens;
        if (max !== undefined && Math.max(streamed + 1, reported.outputTokens ?? 0) > max) {
          return { verdict: "stop", crossing: { limit: "maxOutputTokens", max, used: outputTokens() } };
        }
        streamed += 1;
        if (budget !== undefined && event.agent === undefined) text += event.content;
        return GO;
      }
      if (event.type === "delta" && event.content.kind === "progress" && event.agent === undefined) {
        lastReportAt = now();
        streamedAtReport = streamed;
        const usage = Usage.safeParse(event.content.usage);
        if (usage.success) reported = usage.data;
        const reportedCost = Cost.safeParse(event.content.cost);
        if (reportedCost.success) cost = reportedCost.data;
        const crossing = crossed();
        if (crossing) return { verdict: "after", crossing };
      }
      return GO;
    },
    due() {
      if (streamed === streamedAtReport || now() - lastReportAt < intervalMs) return undefined;
      lastReportAt = now();
      streamedAtReport = streamed;
      return {
        kind: "progress",
        usage: { ...reported, outputTokens: outputTokens() },
        ...(cost ? { cost } : {}),
        estimated: true,
      };
    },
    end(crossing) {
      const { code } = ERRORS.BUDGET_EXCEEDED;
      const what =
        crossing.limit === "maxOutputTokens"
          ? `${crossing.max} output tokens`
          : `$${crossing.max} (reported cost $${crossing.used})`;
      return {
        error: {
          code,
          message: `the run reached its budget of ${what} (budget.${crossing.limit}) and was stopped`,
          retryable: false,
        },
        done: {
          finishReason: "length",
          stopReason: "budget",
          budget: crossing,
          usage: { ...reported, outputTokens: outputTokens() },
          ...(cost ? { cost } : {}),
          output: { text },
        },
      };
    },
  };
}
